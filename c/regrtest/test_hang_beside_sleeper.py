"""The test's thread blocks forever while a C thread is in one long sleep(3) (leakcheck fixture;
see block_beside_sleeper in c/hangfix.c): on a mutex a third thread holds (the sleep is no reason
to wait), or, with LEAKCHECK_FIXTURE_ON_SEMAPHORE=1, on a semaphore nobody posts (which the
sleeper could post: the sleep is waited for, and the report says so)."""
import os
import unittest

import _hangfix


class BesideSleeperTest(unittest.TestCase):
    def test_block_beside_sleeper(self):
        _hangfix.block_beside_sleeper(
            int(os.environ.get("LEAKCHECK_FIXTURE_SLEEP", "120")),
            os.environ.get("LEAKCHECK_FIXTURE_ON_SEMAPHORE") == "1",
        )


if __name__ == "__main__":
    unittest.main()
