"""Fails the first time it runs in a directory and passes after, leaking nothing, so that
regrtest's `--rerun` re-runs it and passes it, and `--fail-rerun` fails the run on it with
status 5 (leakcheck fixture)."""
import os
import unittest

STATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_fail_first_run.ran")


class FlakyTest(unittest.TestCase):
    def test_fail_first_run(self):
        if not os.path.exists(STATE):
            open(STATE, "w").close()
            self.fail("fails the first time only")


if __name__ == "__main__":
    unittest.main()
