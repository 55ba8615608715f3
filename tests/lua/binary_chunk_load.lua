-- expect: attempt to load a binary chunk
local fn, err = load("\27LuaT\0\25\147\13\10\26\10\4\8\8")
error(err)
