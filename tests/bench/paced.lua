-- wrk script for a paced load: each connection waits 4 ms after every response before its next
-- request, so 8 connections send at most about 2,000 requests/s (see sequences_bench.py).
function delay()
  return 4
end
