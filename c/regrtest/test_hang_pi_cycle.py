"""Two C threads deadlock on two priority-inheritance mutexes (leakcheck fixture; see
c/hangfix.c)."""
import unittest

import _hangfix


class PiMutexCycleTest(unittest.TestCase):
    def test_pi_mutex_cycle(self):
        _hangfix.pi_mutex_cycle()


if __name__ == "__main__":
    unittest.main()
