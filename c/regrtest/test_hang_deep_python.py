"""Blocks for good on a lock it holds 150 Python calls deep (leakcheck fixture): deeper than the
100 frames faulthandler writes of a thread's stack."""
import threading
import unittest


def recurse(depth, lock):
    if depth == 0:
        lock.acquire()
        lock.acquire()
    else:
        recurse(depth - 1, lock)


class DeepPythonHangTest(unittest.TestCase):
    def test_hang_deep_in_python(self):
        recurse(150, threading.Lock())


if __name__ == "__main__":
    unittest.main()
