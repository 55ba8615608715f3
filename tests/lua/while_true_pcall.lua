-- expect: CPU budget of 200 ms exceeded
while true do pcall(function() while true do end end) end
