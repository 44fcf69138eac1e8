"""A lock cycle through pthread_cond_wait's re-lock of its mutex (leakcheck fixture; see
c/hangfix.c)."""
import unittest

import _hangfix


class CondRelockTest(unittest.TestCase):
    def test_cond_relock_cycle(self):
        _hangfix.cond_relock_cycle()


if __name__ == "__main__":
    unittest.main()
