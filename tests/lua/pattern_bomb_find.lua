-- expect: pattern too complex
return string.find(("a"):rep(5000), ".-.-.-.-.-.-b")
