-- expect: memory limit of 16 MiB exceeded
return string.rep("x", 100 * 1024 * 1024)
