-- expect: stack overflow
local t
t = setmetatable({}, { __index = function(self, k) return t[k] end })
return t.x
