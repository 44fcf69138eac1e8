"""Two C threads deadlock on two pthread mutexes (leakcheck fixture; see c/hangfix.c)."""
import unittest

import _hangfix


class MutexCycleTest(unittest.TestCase):
    def test_mutex_cycle(self):
        _hangfix.mutex_cycle()


if __name__ == "__main__":
    unittest.main()
