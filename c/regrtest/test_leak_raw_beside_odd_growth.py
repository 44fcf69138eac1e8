"""Leaks one raw block per call (leak_raw, the leak a suppression accepts) and allocates one more
on every other call only (leak_raw_n(1), on even calls: [1, 0, 1] over -R 3:3's counted calls 4-6,
which alone is no leak by regrtest's rule): the raw domain grows [2, 1, 2] (leakcheck fixture;
see c/leakfix.c). README's test_threading case: an accepted leak beside harmless growth."""
import unittest

import _leakfix

calls = 0


class LeakTest(unittest.TestCase):
    def test_leak_raw_beside_odd_growth(self):
        global calls
        calls += 1
        _leakfix.leak_raw()
        if calls % 2 == 0:
            _leakfix.leak_raw_n(1)


if __name__ == "__main__":
    unittest.main()
