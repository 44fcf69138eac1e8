"""A C thread sleeps in sleep(3) while the test's thread waits for it, in pthread_join or for a
mutex the sleeper holds: not a hang, unless the sleeps go on in a loop (leakcheck fixture; see
c/hangfix.c)."""
import os
import unittest

import _hangfix


class CSleeperTest(unittest.TestCase):
    def test_join_c_sleeper(self):
        _hangfix.join_c_sleeper(
            int(os.environ.get("LEAKCHECK_FIXTURE_SLEEP", "10")),
            int(os.environ.get("LEAKCHECK_FIXTURE_ROUNDS", "1")),
            os.environ.get("LEAKCHECK_FIXTURE_THROUGH_MUTEX") == "1",
        )


if __name__ == "__main__":
    unittest.main()
