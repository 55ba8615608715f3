-- expect: __gc metamethods
setmetatable({}, { __gc = function() while true do end end })
