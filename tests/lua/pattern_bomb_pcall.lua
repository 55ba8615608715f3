-- expect: pattern too complex
while true do pcall(string.find, ("a"):rep(5000), ".-.-.-.-.-.-b") end
