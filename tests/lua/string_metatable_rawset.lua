-- expect: table expected
rawset(getmetatable(""), "__index", {})
