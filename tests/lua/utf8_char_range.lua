-- expect: value out of range
return utf8.char(0x7FFFFFFF + 1)
