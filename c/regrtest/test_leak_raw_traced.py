"""Leaks one raw block per call while tracemalloc traces (leakcheck fixture; see c/leakfix.c).

tracemalloc's hooks sit between PyMem_RawMalloc and leakcheck's while it traces; with
`-X tracemalloc=1` tracemalloc was there first, and its stop() takes leakcheck's hooks out."""
import tracemalloc
import unittest

import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_raw_traced(self):
        tracemalloc.start()
        try:
            _leakfix.leak_raw()
        finally:
            tracemalloc.stop()


if __name__ == "__main__":
    unittest.main()
