-- expect: ok
assert(type(event) == "table")
assert(event.type == "test.run")
assert(event.data.n == 3 and event.data.list[2] == "b")
assert(event.data.missing == talent.null)
