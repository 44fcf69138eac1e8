"""Sleeps quietly for a while: not a hang (leakcheck fixture)."""
import os
import time
import unittest


class QuietSleeperTest(unittest.TestCase):
    def test_sleep(self):
        time.sleep(float(os.environ.get("LEAKCHECK_FIXTURE_SLEEP", "6")))


if __name__ == "__main__":
    unittest.main()
