"""regrtest module for the _asanext fixture (c/sanitizer/asanext.c): the same heap-buffer-overflow
five times from one Python line. CPython 3.12+ specializes the call after its first run, so the
eval loop's frame of the first report is at another line than the others'."""
import unittest

import _asanext


class AsanExtRepeatedTest(unittest.TestCase):
    def test_repeated(self):
        for _ in range(5):
            _asanext.overflow()
