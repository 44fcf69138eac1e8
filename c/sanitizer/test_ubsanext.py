"""regrtest module for the _ubsanext fixture (c/sanitizer/ubsanext.c): calls _ubsanext.signed_overflow()."""
import unittest

import _ubsanext


class UbsanExtTest(unittest.TestCase):
    def test_signed_overflow(self):
        _ubsanext.signed_overflow()
