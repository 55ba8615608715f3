-- expect: talent.store.get cannot be used inside a coroutine or a callback called from C
-- A comparator runs under table.sort (C): it cannot yield, so host calls are refused there.
table.sort({3, 1, 2}, function(a, b)
  talent.store.get('k')
  return a < b
end)
