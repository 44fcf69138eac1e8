"""Fails its first run and ends its process with os._exit(0) when regrtest re-runs it
(`-w`/`--rerun`, verbose; 3.11 re-runs it in its main process): the first run's summary came,
the re-run's never does, and the command exits 0 (leakcheck fixture)."""
import os
import sys
import unittest

from test import support


class ExitsInRerun(unittest.TestCase):
    def test_exit_when_rerun(self):
        if not support.verbose:
            self.fail("the first run fails")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    unittest.main()
