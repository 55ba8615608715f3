-- expect: without a chance to yield
return tostring(setmetatable({}, { __tostring = function() while true do end end }))
