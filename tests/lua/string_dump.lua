-- expect: field 'dump'
local d = string.dump(function() end)
return d
