-- expect: read-only
rawset(table, "insert", print)
