"""A bounded functools.lru_cache around a Python function, full before the test runs (filled
at import): each repetition asks one new key, whose result is a longer string than the one
evicted (leakcheck fixture). The new string is made in `render`; the cache's C wrapper evicts
the oldest entry, made before the test, on the line that called `render`. Not a leak: the cache
holds 16 entries; regrtest passes it."""
import functools
import itertools
import unittest


@functools.lru_cache(maxsize=16)
def render(n):
    return "x" * (n * 40)


for i in range(64):
    render(i)

_keys = itertools.count(64)


class CacheTest(unittest.TestCase):
    def test_cache_full_before_python(self):
        render(next(_keys))


if __name__ == "__main__":
    unittest.main()
