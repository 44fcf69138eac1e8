"""Leaves a non-daemon thread blocked for good (leakcheck fixture): the test passes, and the
interpreter's exit, after the last test, waits for the thread in threading._shutdown."""
import threading
import unittest

_lock = threading.Lock()
_lock.acquire()


class ExitHangTest(unittest.TestCase):
    def test_leaves_a_thread_behind(self):
        threading.Thread(target=_lock.acquire, name="stuck-at-exit").start()


if __name__ == "__main__":
    unittest.main()
