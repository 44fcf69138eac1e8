"""Leaks one object in every repetition and registers an atexit handler that aborts the
process (leakcheck fixture): regrtest's -R check runs through and prints its failing leak
lines, then the interpreter's exit dies of SIGABRT. In a -j worker, regrtest's main process
reports the worker's end (`crashed (Exit code -6)`) and prints the leak lines with its output.
Run it with -j only: sequentially the abort would end regrtest itself."""
import atexit
import os
import unittest

_kept = []


class LeakThenAbortTest(unittest.TestCase):
    def test_leak_then_abort_at_exit(self):
        if not _kept:
            atexit.register(os.abort)
        _kept.append(object())


if __name__ == "__main__":
    unittest.main()
