-- expect: ok
local co, main = coroutine.running()
assert(co == nil and main == true)
local ok = pcall(coroutine.close, co)
assert(not ok)
