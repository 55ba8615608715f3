-- expect: read-only
utf8.char = nil
