-- expect: table.concat: the result would exceed
local t = {}
for i = 1, 20000 do t[i] = ("x"):rep(100) end
return table.concat(t, ("y"):rep(1000))
