-- expect: pattern too complex
for x in (("ab"):rep(3000)):gmatch(".-.-.-.-.-c") do end
