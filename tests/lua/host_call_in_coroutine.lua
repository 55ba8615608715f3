-- expect: talent.get cannot be used inside a coroutine
-- A host call suspends the call's own coroutine; from a nested one it is refused.
local co = coroutine.wrap(function() return talent.get('candidate', 'can_x') end)
co()
