-- expect: CPU budget of 200 ms exceeded
while true do
  local co = coroutine.create(function() while true do end end)
  coroutine.resume(co)
end
