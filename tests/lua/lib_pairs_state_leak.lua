-- expect: read-only
local f, t = pairs(string)
for k, v in f, t do end
t.find = nil
