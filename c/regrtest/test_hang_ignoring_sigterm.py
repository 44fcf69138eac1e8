"""A test whose subprocess ignores SIGTERM, then deadlocks on two mutexes (leakcheck fixture;
see c/hangfix.c): only the SIGKILL at the end of leakcheck's grace period ends it."""
import os
import subprocess
import sys
import unittest


class IgnoresSigtermTest(unittest.TestCase):
    def test_subprocess_ignores_sigterm_and_deadlocks(self):
        code = "import signal, _hangfix; signal.signal(signal.SIGTERM, signal.SIG_IGN); _hangfix.mutex_cycle()"
        here = os.path.dirname(os.path.abspath(__file__))  # where _hangfix is
        proc = subprocess.run([sys.executable, "-c", code], cwd=here)
        self.assertNotEqual(proc.returncode, 0)


if __name__ == "__main__":
    unittest.main()
