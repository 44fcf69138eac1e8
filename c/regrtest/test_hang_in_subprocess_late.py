"""A test whose subprocess (a new interpreter, not a fork) deadlocks on two mutexes right after
it printed a line (leakcheck fixture; see c/hangfix.c). With a short hang timeout the run's
silence since that line finds it first: regrtest, waiting for the subprocess, is inspected with
it, and only the subprocess is to be ended."""
import os
import subprocess
import sys
import unittest


class SubprocessDeadlockTest(unittest.TestCase):
    def test_subprocess_deadlocks_after_a_line(self):
        code = "import _hangfix; print('deadlocking now', flush=True); _hangfix.mutex_cycle()"
        # leakcheck ends the deadlocked subprocess; the test sees it die and goes on.
        here = os.path.dirname(os.path.abspath(__file__))  # where _hangfix is
        proc = subprocess.run([sys.executable, "-c", code], cwd=here)
        self.assertNotEqual(proc.returncode, 0)


if __name__ == "__main__":
    unittest.main()
