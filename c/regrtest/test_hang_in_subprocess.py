"""A test whose subprocess (a new interpreter, not a fork) deadlocks on two mutexes
(leakcheck fixture; see c/hangfix.c)."""
import os
import subprocess
import sys
import unittest


class SubprocessDeadlockTest(unittest.TestCase):
    def test_subprocess_deadlocks(self):
        code = "import _hangfix; _hangfix.mutex_cycle()"
        # leakcheck ends the deadlocked subprocess; the test sees it die and goes on.
        here = os.path.dirname(os.path.abspath(__file__))  # where _hangfix is
        proc = subprocess.run([sys.executable, "-c", code], cwd=here)
        self.assertNotEqual(proc.returncode, 0)


if __name__ == "__main__":
    unittest.main()
