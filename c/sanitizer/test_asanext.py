"""regrtest module for the _asanext fixture (c/sanitizer/asanext.c): each test commits one
memory error that ASAN reports; with ASAN_OPTIONS=halt_on_error=0 the process goes on."""
import unittest

import _asanext


class AsanExtTest(unittest.TestCase):
    def test_overflow(self):
        _asanext.overflow()

    def test_use_after_free(self):
        _asanext.use_after_free()
