"""Runs regrtest on test_balanced in a subprocess without capturing its output, which goes
into this test's: the nested run's header, progress lines and summary (leakcheck fixture).
Under -R it does so in each repetition: six whole runs inside this test's output."""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class RunsRegrtestUncaptured(unittest.TestCase):
    def test_nested_run(self):
        argv = [sys.executable, "-m", "test", "--testdir", HERE, "test_balanced"]
        self.assertEqual(subprocess.run(argv).returncode, 0)


if __name__ == "__main__":
    unittest.main()
