"""Leaks one object per repetition (regrtest reports the references) and writes to stdout
without a newline, so that regrtest's next line is glued to its output (leakcheck fixture)."""
import sys
import unittest

import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_object_no_newline(self):
        _leakfix.leak_object()
        sys.stdout.write("output without a newline ")
        sys.stdout.flush()


if __name__ == "__main__":
    unittest.main()
