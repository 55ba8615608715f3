-- expect: ok
local n = 0
for i = 1, 200000 do n = n + i % 7 end
assert(n > 0)
