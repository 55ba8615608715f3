-- expect: CPU budget of 200 ms exceeded
local s = ("\u{e9}"):rep(1000)
while true do utf8.len(s) for p, c in utf8.codes(s) do end end
