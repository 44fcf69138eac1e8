"""Leaves a daemon thread behind that leaks a raw block every millisecond, for good (leakcheck
fixture): started in the first repetition, it goes on allocating while the tests after it run
in the same process, and regrtest measures their repetitions."""
import threading
import time
import unittest

import _leakfix

_started = []


def _allocate_for_good():
    while True:
        _leakfix.leak_raw()
        time.sleep(0.001)


class LeaveAllocatingThreadTest(unittest.TestCase):
    def test_leave_allocating_thread(self):
        if not _started:
            thread = threading.Thread(target=_allocate_for_good, name="allocating", daemon=True)
            thread.start()
            _started.append(thread)


if __name__ == "__main__":
    unittest.main()
