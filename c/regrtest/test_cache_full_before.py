"""A bounded cache full before the test runs (filled at import): each repetition adds a new
entry and evicts one made before the test (leakcheck fixture). Not a leak: memory stays
bounded, and regrtest passes it."""
import functools
import itertools
import unittest


@functools.lru_cache(maxsize=16)
def entry(n):
    return [n]


# Keys outside the small-int cache, so that an evicted key is freed like the entry.
for i in range(16):
    entry(-1000 - i)

_keys = itertools.count(1000)


class CacheTest(unittest.TestCase):
    def test_cache_full_before(self):
        entry(next(_keys))


if __name__ == "__main__":
    unittest.main()
