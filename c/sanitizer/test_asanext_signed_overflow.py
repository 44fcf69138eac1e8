"""regrtest module for the _asanext fixture (c/sanitizer/asanext.c): calls _asanext.signed_overflow()."""
import unittest

import _asanext


class AsanExtSigned_overflowTest(unittest.TestCase):
    def test_signed_overflow(self):
        _asanext.signed_overflow()
