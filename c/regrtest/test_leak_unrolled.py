"""Leaks two raw blocks per call from one line of C that gcc -O2 unrolls into two calls
(leakcheck fixture; see leak_raw_unrolled in c/leakfix.c): one leak site, not two."""
import unittest

import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_unrolled(self):
        _leakfix.leak_raw_unrolled()


if __name__ == "__main__":
    unittest.main()
