"""Deadlocks (two C threads on two mutexes) on its third run: under -R 3:3, regrtest has then
written progress dots for the first two runs to stderr, without a newline (leakcheck fixture;
see c/hangfix.c)."""
import unittest

import _hangfix

runs = 0


class ThirdRunTest(unittest.TestCase):
    def test_deadlock_on_third_run(self):
        global runs
        runs += 1
        if runs == 3:
            _hangfix.mutex_cycle()


if __name__ == "__main__":
    unittest.main()
