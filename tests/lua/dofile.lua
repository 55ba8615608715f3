-- expect: global 'dofile'
return dofile("/etc/passwd")
