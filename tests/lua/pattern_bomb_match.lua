-- expect: pattern too complex
return string.match(("a"):rep(3000), "a*a*a*a*a*a*a*a*b")
