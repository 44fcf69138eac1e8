"""Leaks from six lines of c/leakfix.c in one test (leakcheck fixture): six leak sites at six
distinct C lines, more than leakcheck annotates for one test."""
import unittest

import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_many_lines(self):
        _leakfix.leak_raw()
        _leakfix.leak_mem()
        _leakfix.leak_object()
        _leakfix.leak_raw_n(1)
        _leakfix.leak_raw_unrolled()
        _leakfix.leak_mem_realloc()


if __name__ == "__main__":
    unittest.main()
