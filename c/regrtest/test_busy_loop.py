"""Spins silently for a while (leakcheck fixture): on the CPU, or, with
LEAKCHECK_FIXTURE_NAP set, in a loop of short sleeps (a poll for something that never comes)."""
import os
import time
import unittest


class BusyLoopTest(unittest.TestCase):
    def test_spin(self):
        end = time.monotonic() + float(os.environ.get("LEAKCHECK_FIXTURE_SPIN", "60"))
        nap = float(os.environ.get("LEAKCHECK_FIXTURE_NAP", "0"))
        while time.monotonic() < end:
            if nap:
                time.sleep(nap)


if __name__ == "__main__":
    unittest.main()
