"""Deadlocks two C threads on two pthread mutexes at its import, before regrtest's -R
repetitions of it begin (leakcheck fixture; see c/hangfix.c)."""
import unittest

import _hangfix

_hangfix.mutex_cycle()


class HangAtImportTest(unittest.TestCase):
    def test_never_run(self):
        pass


if __name__ == "__main__":
    unittest.main()
