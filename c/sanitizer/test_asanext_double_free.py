"""regrtest module for the _asanext fixture (c/sanitizer/asanext.c): calls _asanext.double_free()."""
import unittest

import _asanext


class AsanExtDouble_freeTest(unittest.TestCase):
    def test_double_free(self):
        _asanext.double_free()
