-- expect: global 'require'
local io = require("io")
return io
