"""Leaks one raw block per call in the first process that imports it in a directory only: the 6
calls of a `-R 3:3` run leak blocks regrtest cannot see, and the test passes; a second regrtest
run of the command (a script's `A; A`, a CI's retry) leaks nothing (leakcheck fixture; see
c/leakfix.c)."""
import os
import unittest

import _leakfix

STATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_leak_raw_first_process.ran")
FIRST = not os.path.exists(STATE)
if FIRST:
    open(STATE, "w").close()


class LeakTest(unittest.TestCase):
    def test_leak_raw_first_process(self):
        if FIRST:
            _leakfix.leak_raw()


if __name__ == "__main__":
    unittest.main()
