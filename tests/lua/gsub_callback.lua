-- expect: without a chance to yield
string.gsub("abc", ".", function() while true do end end)
