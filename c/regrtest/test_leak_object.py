"""Leaks one block per call in one allocator domain (leakcheck fixture; see c/leakfix.c)."""
import unittest

import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_object(self):
        _leakfix.leak_object()


if __name__ == "__main__":
    unittest.main()
