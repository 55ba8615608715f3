-- expect: pattern too complex
return (("a"):rep(4000)):gsub("(.-)(.-)(.-)(.-)x", "")
