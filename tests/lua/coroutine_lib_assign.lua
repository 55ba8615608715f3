-- expect: read-only
coroutine.resume = nil
