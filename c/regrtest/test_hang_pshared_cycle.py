"""A lock cycle across two processes: the test's process and the child it forks take two
process-shared mutexes in opposite orders (leakcheck fixture; see c/hangfix.c)."""
import unittest

import _hangfix


class ProcessSharedCycleTest(unittest.TestCase):
    def test_pshared_cycle(self):
        _hangfix.pshared_cycle()


if __name__ == "__main__":
    unittest.main()
