-- expect: CPU budget of 200 ms exceeded
local co = coroutine.create(function() while true do end end)
local ok, err = coroutine.resume(co)
return ok, err
