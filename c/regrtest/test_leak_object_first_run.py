"""Leaks one object per call during its first run only: the 6 calls of a `-R 3:3` run, the first
time it is imported in a directory. regrtest's `-w` re-run (in-process on 3.11, in a new worker
on 3.12+) leaks nothing (leakcheck fixture; see c/leakfix.c)."""
import os
import unittest

import _leakfix

STATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_leak_object_first_run.ran")
FIRST = not os.path.exists(STATE)
if FIRST:
    open(STATE, "w").close()
calls = 0


class LeakTest(unittest.TestCase):
    def test_leak_object_first_run(self):
        global calls
        calls += 1
        if FIRST and calls <= 6:
            _leakfix.leak_object()


if __name__ == "__main__":
    unittest.main()
