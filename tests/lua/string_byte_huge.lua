-- expect: string slice too long
local s = ("x"):rep(2 * 1024 * 1024)
return s:byte(1, -1)
