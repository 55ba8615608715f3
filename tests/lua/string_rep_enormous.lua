-- expect: resulting string too large
return string.rep("x", math.maxinteger)
