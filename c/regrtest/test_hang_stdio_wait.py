"""Not a hang: the test writes to stderr while a C thread holds stderr's lock (glibc's stdio
lock, no pthread mutex) for a few seconds (leakcheck fixture; see c/hangfix.c)."""
import unittest

import _hangfix


class StdioLockWaitTest(unittest.TestCase):
    def test_write_waits_for_stderr_lock(self):
        # Longer than leakcheck's 2 s before it inspects a still process.
        _hangfix.stdio_wait(5)


if __name__ == "__main__":
    unittest.main()
