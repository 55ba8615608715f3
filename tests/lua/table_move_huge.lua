-- expect: table.move: more than
table.move({}, 1, math.maxinteger, 2)
