"""Ends its process with os._exit(0) in the fourth -R repetition (leakcheck fixture): the run
stops halfway, regrtest never prints its result, and the command exits 0."""
import os
import sys
import unittest

_runs = [0]


class ExitsMidway(unittest.TestCase):
    def test_exit_in_the_fourth_repetition(self):
        _runs[0] += 1
        if _runs[0] == 4:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)


if __name__ == "__main__":
    unittest.main()
