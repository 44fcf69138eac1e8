"""Caches that reach their high-water mark over more repetitions than the warm-ups: each
repetition fills another set, from another line, whose table then stays allocated (set tables
never shrink on discard), one more block per repetition for a while (leakcheck fixture). No
single place grows each time, as with the ABC caches test_typing fills on 3.11: regrtest's rule
flags the domain all the same. The sets are filled in turn by three C paths (`update`,
`symmetric_difference_update`, one `add` at a time), so that no site grows each time told
apart by its C frames alone either, and leakcheck has no site to show for it."""
import itertools
import unittest

_caches = [set() for _ in range(12)]
_keys = range(200)  # small ints: cached, no new objects, no new references


def _keep_table(cache, _):
    for key in _keys:  # discard never shrinks a table (difference_update may)
        cache.discard(key)


# Each line grows its own set's table (the set's method runs in the lambda's frame), through
# the C path of its turn.
_fills = [
    lambda: _keep_table(_caches[0], _caches[0].update(_keys)),
    lambda: _keep_table(_caches[1], _caches[1].symmetric_difference_update(_keys)),
    lambda: _keep_table(_caches[2], [_caches[2].add(key) for key in _keys]),
    lambda: _keep_table(_caches[3], _caches[3].update(_keys)),
    lambda: _keep_table(_caches[4], _caches[4].symmetric_difference_update(_keys)),
    lambda: _keep_table(_caches[5], [_caches[5].add(key) for key in _keys]),
    lambda: _keep_table(_caches[6], _caches[6].update(_keys)),
    lambda: _keep_table(_caches[7], _caches[7].symmetric_difference_update(_keys)),
    lambda: _keep_table(_caches[8], [_caches[8].add(key) for key in _keys]),
    lambda: _keep_table(_caches[9], _caches[9].update(_keys)),
    lambda: _keep_table(_caches[10], _caches[10].symmetric_difference_update(_keys)),
    lambda: _keep_table(_caches[11], [_caches[11].add(key) for key in _keys]),
]
_repetition = itertools.count()


class HighWaterTest(unittest.TestCase):
    def test_cache_high_water(self):
        _fills[next(_repetition) % len(_fills)]()


if __name__ == "__main__":
    unittest.main()
