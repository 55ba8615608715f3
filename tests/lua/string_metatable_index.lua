-- expect: attempt to index a boolean value
local mt = getmetatable("")
mt.__index = { upper = function() return "pwned" end }
