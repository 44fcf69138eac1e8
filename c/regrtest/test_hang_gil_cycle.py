"""A thread holding the GIL waits for a mutex whose holder waits for the GIL (leakcheck fixture;
see c/hangfix.c)."""
import unittest

import _hangfix


class GilCycleTest(unittest.TestCase):
    def test_gil_cycle(self):
        _hangfix.gil_cycle()


if __name__ == "__main__":
    unittest.main()
