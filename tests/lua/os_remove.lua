-- expect: field 'remove'
os.remove("/tmp/x")
