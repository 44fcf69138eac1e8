"""Aborts the process in its third -R repetition the first time it runs, and passes after: the
file $CRASH_ONCE_MARKER names remembers the crash across processes, as a flaky crash a CI's
retry (`python -m test ... || python -m test ...`) gets past (leakcheck fixture). Without the
variable, it passes."""
import os
import unittest

calls = 0


class CrashOnceTest(unittest.TestCase):
    def test_crash_the_first_time(self):
        global calls
        calls += 1
        marker = os.environ.get("CRASH_ONCE_MARKER")
        if calls == 3 and marker and not os.path.exists(marker):
            open(marker, "w").close()
            os.abort()


if __name__ == "__main__":
    unittest.main()
