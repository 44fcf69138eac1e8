"""Leaks a PyMem_RawMalloc block per call during the first 6 calls only: a full -R 3:3 run
leaks, a second run of the test in the same process does not (leakcheck fixture)."""
import unittest

import _leakfix

calls = 0


class LeakFirstRunTest(unittest.TestCase):
    def test_leak_raw_at_first(self):
        global calls
        calls += 1
        if calls <= 6:
            _leakfix.leak_raw()


if __name__ == "__main__":
    unittest.main()
