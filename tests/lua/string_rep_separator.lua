-- expect: memory limit of 16 MiB exceeded
return string.rep("x", 1e8, "yy")
