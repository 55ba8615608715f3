-- expect: memory limit of 16 MiB exceeded
local s = "x"
while true do s = s .. s end
