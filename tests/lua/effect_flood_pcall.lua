-- expect: ok
-- Catching the cap does not reopen it: every attempt past ten keeps failing.
local capped = 0
for i = 1, 50 do
  local ok, err = pcall(talent.schedule.after, 1000, 'tick')
  if not ok and tostring(err):find('more than 10 side effects', 1, true) then capped = capped + 1 end
end
assert(capped == 40, 'capped ' .. capped)
