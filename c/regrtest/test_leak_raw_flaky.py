"""Leaks one raw block per repetition and fails the first time it runs in a directory, so that
regrtest's `-w` re-runs it (leakcheck fixture; see c/leakfix.c). With `-j`, CPython 3.11 re-runs
it in the main process, whose events file sorts before the worker's."""
import os
import unittest

import _leakfix

STATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_leak_raw_flaky.ran")


class LeakTest(unittest.TestCase):
    def test_leak_raw_flaky(self):
        _leakfix.leak_raw()
        if not os.path.exists(STATE):
            open(STATE, "w").close()
            self.fail("fails the first time only")


if __name__ == "__main__":
    unittest.main()
