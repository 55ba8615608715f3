-- expect: CPU budget of 200 ms exceeded
::top::
goto top
