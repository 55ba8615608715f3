-- expect: CPU budget of 200 ms exceeded
while true do local s = ("x"):rep(2 * 1024 * 1024) end
