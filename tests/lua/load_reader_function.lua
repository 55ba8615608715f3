-- expect: only strings can be loaded
local n = 0
local f = assert(load(function() n = n + 1 if n < 3 then return "x=1 " end end))
