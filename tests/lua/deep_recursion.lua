-- expect: memory limit of 16 MiB exceeded
local function f() return 1 + f() end
return f()
