-- expect: CPU budget of 200 ms exceeded
while true do print("flood") end
