-- expect: pattern too complex
return (("a"):rep(400)):find(("a?"):rep(400))
