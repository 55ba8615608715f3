-- expect: without a chance to yield
while true do xpcall(error, function() while true do end end) end
