-- expect: attempt to load a binary chunk
local fn, err = load(string.char(27) .. "Lua" .. ("\0"):rep(40), "x", "b")
assert(fn == nil)
error(err)
