-- expect: exceeded
local t = {}
local i = 0
while true do i = i + 1 t[i] = ("x"):rep(4000) .. i end
