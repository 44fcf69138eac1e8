"""Hangs in an atexit handler (leakcheck fixture): the test passes and leaves a daemon thread
blocked for good, and registers a handler that joins it, which the interpreter's exit, after
the last test, runs and waits in for good. threading._shutdown does not wait for a daemon
thread: the handler does."""
import atexit
import threading
import unittest

_lock = threading.Lock()
_lock.acquire()
_started = []


def _join_all():
    for thread in _started:
        thread.join()


class AtexitHangTest(unittest.TestCase):
    def test_leaves_a_joining_handler(self):
        if not _started:
            thread = threading.Thread(target=_lock.acquire, name="never-ends", daemon=True)
            thread.start()
            _started.append(thread)
            atexit.register(_join_all)


if __name__ == "__main__":
    unittest.main()
