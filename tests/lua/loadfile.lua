-- expect: global 'loadfile'
return loadfile("/etc/passwd")
