-- expect: read-only
math.pi = 3
