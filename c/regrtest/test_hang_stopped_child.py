"""The test waits for a child process that stopped itself with SIGSTOP: nothing continues it
(leakcheck fixture)."""
import subprocess
import sys
import unittest


class StoppedChildTest(unittest.TestCase):
    def test_wait_for_stopped_child(self):
        child = subprocess.Popen([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSTOP)"])
        child.wait()


if __name__ == "__main__":
    unittest.main()
