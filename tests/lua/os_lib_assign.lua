-- expect: read-only
os.time = function() return 0 end
