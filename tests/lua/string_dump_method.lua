-- expect: field 'dump'
local s = ""
return s.dump(print)
