"""Leaks one 72-byte PyMem_RawMalloc block per call, allocated with the GIL released as
CPython's I/O does (leakcheck fixture), from the test's thread and from a threading.Thread: each
site's Python frame is the line that called into C, on 3.13+ too, where the thread has no
attached thread state while it runs without the GIL."""
import threading
import unittest

import _leakfix


def leak_in_thread():
    _leakfix.leak_raw_nogil()


class LeakTest(unittest.TestCase):
    def test_leak_raw_nogil(self):
        _leakfix.leak_raw_nogil()
        thread = threading.Thread(target=leak_in_thread)
        thread.start()
        thread.join()


if __name__ == "__main__":
    unittest.main()
