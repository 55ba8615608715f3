-- expect: pattern too complex
local s = ("x"):rep(8000)
return s:match("^(.-)%s*(.-)%s*(.-)%s*(.-)$y")
