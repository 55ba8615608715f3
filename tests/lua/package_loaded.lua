-- expect: global 'package'
return package.loaded.io
