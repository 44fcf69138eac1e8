"""Keeps a new string alive each call: a leak of `str` objects, not interned (leakcheck
fixture)."""
import itertools
import unittest

counter = itertools.count()
kept = []


class LeakStringsTest(unittest.TestCase):
    def test_keep_a_new_string(self):
        kept.append("leakcheck string %d" % next(counter))


if __name__ == "__main__":
    unittest.main()
