-- expect: ok
setmetatable(_G, { __index = function(t, k) return nil end })
_ENV.myglobal = 1
_G.print = nil
local ok = pcall(function() string.len = nil end)
assert(not ok)
assert(string.len("abc") == 3)
