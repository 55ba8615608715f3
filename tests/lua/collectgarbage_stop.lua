-- expect: not allowed in scripts
collectgarbage("stop")
