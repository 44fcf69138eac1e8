"""Sleeps quietly for a while: not a hang (leakcheck fixture). With
LEAKCHECK_FIXTURE_SLEEP_IN_THREAD=1 a thread sleeps while the test's thread joins it.
LEAKCHECK_FIXTURE_SLEEP_HOW says how the time passes: `sleep` (time.sleep, the default),
`event` (threading.Event().wait(timeout): a timed futex wait), `select` (select.select on a pipe
nobody writes to, with a timeout)."""
import os
import select
import threading
import time
import unittest


def wait(seconds):
    how = os.environ.get("LEAKCHECK_FIXTURE_SLEEP_HOW", "sleep")
    if how == "event":
        threading.Event().wait(seconds)
    elif how == "select":
        r, w = os.pipe()
        try:
            select.select([r], [], [], seconds)
        finally:
            os.close(r)
            os.close(w)
    else:
        time.sleep(seconds)


class QuietSleeperTest(unittest.TestCase):
    def test_sleep(self):
        seconds = float(os.environ.get("LEAKCHECK_FIXTURE_SLEEP", "6"))
        if os.environ.get("LEAKCHECK_FIXTURE_SLEEP_IN_THREAD") == "1":
            sleeper = threading.Thread(target=wait, args=(seconds,))
            sleeper.start()
            sleeper.join()
        else:
            wait(seconds)  # the test's own wait


if __name__ == "__main__":
    unittest.main()
