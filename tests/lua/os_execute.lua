-- expect: field 'execute'
return os.execute("id")
