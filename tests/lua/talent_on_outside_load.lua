-- expect: only be called at the top level
talent.on("candidate.created", function() end)
