-- expect: exceeds the limit
local src = ("x = 1\n"):rep(200000)
return load(src)
