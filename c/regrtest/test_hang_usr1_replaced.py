"""Replaces regrtest's faulthandler handler for SIGUSR1 with a Python handler that does nothing,
then blocks for good on a lock it holds (leakcheck fixture): asked for its Python stacks, it
takes the signal, writes no dump and lives on, until it is ended."""
import signal
import threading
import unittest


class Usr1ReplacedTest(unittest.TestCase):
    def test_hang_with_usr1_replaced(self):
        signal.signal(signal.SIGUSR1, lambda signum, frame: None)
        lock = threading.Lock()
        lock.acquire()
        lock.acquire()


if __name__ == "__main__":
    unittest.main()
