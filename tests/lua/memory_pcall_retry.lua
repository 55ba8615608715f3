-- expect: memory limit of 16 MiB exceeded
while true do pcall(string.rep, "x", 1e9) end
