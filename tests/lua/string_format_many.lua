-- expect: bad argument
return string.format(("%s"):rep(10000))
