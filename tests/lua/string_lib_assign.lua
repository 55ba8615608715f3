-- expect: read-only
string.find = nil
