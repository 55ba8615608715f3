-- expect: talent.http.request: more than 10 side effects in one call
-- Eleven outbound requests in one call: the first ten are answered (here: no network is
-- bound, nil + error), the eleventh raises the per-call cap.
for i = 1, 1000 do
  talent.http.request{url = 'https://example.com/' .. i}
end
