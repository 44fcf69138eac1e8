"""Sleeps quietly for a while: not a hang (leakcheck fixture). With
LEAKCHECK_FIXTURE_SLEEP_IN_THREAD=1 a thread sleeps while the test's thread joins it."""
import os
import threading
import time
import unittest


class QuietSleeperTest(unittest.TestCase):
    def test_sleep(self):
        seconds = float(os.environ.get("LEAKCHECK_FIXTURE_SLEEP", "6"))
        if os.environ.get("LEAKCHECK_FIXTURE_SLEEP_IN_THREAD") == "1":
            sleeper = threading.Thread(target=time.sleep, args=(seconds,))
            sleeper.start()
            sleeper.join()
        else:
            time.sleep(seconds)


if __name__ == "__main__":
    unittest.main()
