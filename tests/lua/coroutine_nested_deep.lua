-- expect: CPU budget of 200 ms exceeded
local function level(n)
  if n == 0 then while true do end end
  local co = coroutine.create(function() level(n - 1) end)
  return coroutine.resume(co)
end
level(5)
