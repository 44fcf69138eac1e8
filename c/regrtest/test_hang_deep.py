"""A mutex cycle 200 C calls deep on each thread's stack (leakcheck fixture; see c/hangfix.c)."""
import unittest

import _hangfix


class DeepMutexCycleTest(unittest.TestCase):
    def test_deep_mutex_cycle(self):
        _hangfix.deep_mutex_cycle(200)


if __name__ == "__main__":
    unittest.main()
