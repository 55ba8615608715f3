-- expect: field 'getenv'
return os.getenv("HOME")
