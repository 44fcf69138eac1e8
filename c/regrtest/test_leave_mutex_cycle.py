"""Leaves two C threads deadlocked on two mutexes and passes (leakcheck fixture; see
c/hangfix.c): the deadlock is real, but it holds neither the test nor regrtest, which goes on.
With LEAKCHECK_FIXTURE_LINGER set, the test spins that many seconds more on the CPU after
leaving them (a test that works on beside threads it let deadlock)."""
import os
import time
import unittest

import _hangfix


class LeaveMutexCycleTest(unittest.TestCase):
    def test_leave_mutex_cycle(self):
        _hangfix.leave_mutex_cycle()
        end = time.monotonic() + float(os.environ.get("LEAKCHECK_FIXTURE_LINGER", "0"))
        while time.monotonic() < end:
            pass


if __name__ == "__main__":
    unittest.main()
