"""A C thread holds stderr's lock (glibc's stdio lock) and waits for a mutex that the test
holds while it writes to stderr: a deadlock whose stdio lock records no owner TID (leakcheck
fixture; see c/hangfix.c)."""
import unittest

import _hangfix


class StdioLockCycleTest(unittest.TestCase):
    def test_stdio_cycle(self):
        _hangfix.stdio_cycle()


if __name__ == "__main__":
    unittest.main()
