-- expect: read-only
rawset(string, "find", function() return 1 end)
