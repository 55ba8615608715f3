-- expect: read-only
talent.on = function() end
