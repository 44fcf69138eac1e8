"""Ignores SIGUSR1 and SIGTERM, then blocks for good on a lock it holds (leakcheck fixture):
a hang that outlives the signals that end it, until SIGKILL after the grace period. Python
locks record no owner: only the hang timeout reports it."""
import signal
import threading
import unittest


class StubbornHangTest(unittest.TestCase):
    def test_hang(self):
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        lock = threading.Lock()
        lock.acquire()
        lock.acquire()


if __name__ == "__main__":
    unittest.main()
