-- expect: ok
assert(SECRET_OF_ANOTHER_PACKAGE == nil)
SECRET_OF_ANOTHER_PACKAGE = "mine"
assert(string.upper("a") == "A")
