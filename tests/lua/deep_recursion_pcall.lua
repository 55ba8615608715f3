-- expect: stack overflow
local function g()
  local ok, e = pcall(g)
  if not ok then error(e, 0) end
end
g()
