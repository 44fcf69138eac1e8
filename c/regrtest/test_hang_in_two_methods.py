"""Hangs twice, in two methods (leakcheck fixture; see c/hangfix.c): the first method's
subprocess (a new interpreter, which gives no Python stacks) deadlocks on two mutexes and is
ended, the test going on; the second method then blocks for good on a Python lock it holds."""
import os
import subprocess
import sys
import threading
import unittest


class TwoHangsTest(unittest.TestCase):
    def test_1_subprocess_deadlocks(self):
        code = "import _hangfix; _hangfix.mutex_cycle()"
        here = os.path.dirname(os.path.abspath(__file__))  # where _hangfix is
        proc = subprocess.run([sys.executable, "-c", code], cwd=here)
        self.assertNotEqual(proc.returncode, 0)

    def test_2_blocks(self):
        lock = threading.Lock()
        lock.acquire()
        lock.acquire()


if __name__ == "__main__":
    unittest.main()
