"""Leaks an object (references regrtest reports), a PyMem_Malloc block and a PyMem_RawMalloc
block per call (leakcheck fixture; see c/leakfix.c): regrtest's verdict is about the object;
the raw block, which it cannot see, will leak on once that is fixed."""
import unittest

import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_beside_reference(self):
        _leakfix.leak_object()
        _leakfix.leak_mem()
        _leakfix.leak_raw()


if __name__ == "__main__":
    unittest.main()
