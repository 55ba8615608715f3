-- expect: pattern too complex
return (("a"):rep(5000)):find("(a*)(a*)%1%2b")
