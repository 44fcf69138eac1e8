"""regrtest module for the _ubsanext fixture (c/sanitizer/ubsanext.c): _ubsanext.interleaved_overflow()
copies its UBSan report to stderr with a unittest-like line on stdout after each of its lines."""
import unittest

import _ubsanext


class UbsanInterleavedTest(unittest.TestCase):
    def test_interleaved_overflow(self):
        _ubsanext.interleaved_overflow(b"test_other (test_ubsanext_interleaved.Other.test_other) ... ok\n")
