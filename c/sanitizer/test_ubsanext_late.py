"""regrtest module for the _ubsanext fixture (c/sanitizer/ubsanext.c): the same bug as test_ubsanext
(_ubsanext.signed_overflow()), two seconds later: imported after a sleep, so that a -j worker
running it exits well after one running test_ubsanext beside it."""
import time
import unittest

import _ubsanext

time.sleep(2)


class UbsanExtLateTest(unittest.TestCase):
    def test_signed_overflow(self):
        _ubsanext.signed_overflow()
