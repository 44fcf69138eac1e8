"""Caches that reach their high-water mark over more repetitions than the warm-ups: each
repetition fills another set from another line, whose table then stays allocated (set tables
never shrink on discard), one more block per repetition for a while (leakcheck fixture). Not a
leak: after the last cache is full the memory stays flat, and no single place grows each time,
as with the ABC caches test_typing fills."""
import itertools
import unittest

_caches = [set() for _ in range(12)]
_keys = range(200)  # small ints: cached, no new objects, no new references


def _fill(cache):
    cache.update(_keys)
    for key in _keys:  # discard never shrinks a table (difference_update may)
        cache.discard(key)


_fills = [
    lambda: _fill(_caches[0]),
    lambda: _fill(_caches[1]),
    lambda: _fill(_caches[2]),
    lambda: _fill(_caches[3]),
    lambda: _fill(_caches[4]),
    lambda: _fill(_caches[5]),
    lambda: _fill(_caches[6]),
    lambda: _fill(_caches[7]),
    lambda: _fill(_caches[8]),
    lambda: _fill(_caches[9]),
    lambda: _fill(_caches[10]),
    lambda: _fill(_caches[11]),
]
_repetition = itertools.count()


class HighWaterTest(unittest.TestCase):
    def test_cache_high_water(self):
        _fills[next(_repetition) % len(_fills)]()


if __name__ == "__main__":
    unittest.main()
