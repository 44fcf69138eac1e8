"""Leaks one raw block and one file descriptor per call during its first run only: the 6 calls of
a `-R 3:3` run, the first time it is imported in a directory (leakcheck fixture; see
c/leakfix.c). regrtest sees the file descriptors, fails the test for them and re-runs it with
`-w`; the re-run leaks nothing, so regrtest's verdict is a pass, and only leakcheck saw the raw
blocks of the first run. A unittest failure would not do: it ends regrtest's -R loop, and a run
cut short has no verdict."""
import os
import unittest

import _leakfix

STATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_leak_raw_fd_first_run.ran")
FIRST = not os.path.exists(STATE)
if FIRST:
    open(STATE, "w").close()


class LeakTest(unittest.TestCase):
    def test_leak_raw_fd_first_run(self):
        if FIRST:
            _leakfix.leak_raw()
            # Left open on purpose, with no Python reference to it: a leak regrtest counts.
            os.open(os.devnull, os.O_RDONLY)


if __name__ == "__main__":
    unittest.main()
