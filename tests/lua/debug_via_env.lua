-- expect: global 'debug'
local d = _ENV["de" .. "bug"]
return debug.sethook()
