"""Leaks one PyMem_Realloc-grown block per call (leakcheck fixture; see c/leakfix.c)."""
import unittest

import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_mem_realloc(self):
        _leakfix.leak_mem_realloc()


if __name__ == "__main__":
    unittest.main()
