-- expect: attempt to index a boolean value
local mt = getmetatable(string)
mt.__newindex = nil
