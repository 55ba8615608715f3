-- expect: CPU budget of 200 ms exceeded
local x <close> = setmetatable({}, { __close = function() while true do end end })
local y <close> = setmetatable({}, { __close = function() error("in close") end })
while true do end
