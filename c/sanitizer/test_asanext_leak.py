"""regrtest module for the _asanext fixture (c/sanitizer/asanext.c): calls _asanext.leak()."""
import unittest

import _asanext


class AsanExtLeakTest(unittest.TestCase):
    def test_leak(self):
        _asanext.leak()
