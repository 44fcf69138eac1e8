"""Runs regrtest with -R on test_leak_raw in a subprocess, as test_regrtest runs its own
regrtests (leakcheck fixture): the nested run's tests are none of the outer run's."""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class NestedRegrtestTest(unittest.TestCase):
    def test_nested_run(self):
        argv = [sys.executable, "-m", "test", "--testdir", HERE, "-R", "3:3", "test_leak_raw"]
        nested = subprocess.run(argv, capture_output=True, text=True)
        # regrtest does not see a raw leak: the nested run passes.
        self.assertEqual(nested.returncode, 0, nested.stdout + nested.stderr)


if __name__ == "__main__":
    unittest.main()
