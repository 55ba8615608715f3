-- expect: CPU budget of 200 ms exceeded
local s = ("a"):rep(1000)
while true do s:find(".-b") end
