-- expect: CPU budget of 200 ms exceeded
do
  local x <close> = setmetatable({}, { __close = function() while true do end end })
end
