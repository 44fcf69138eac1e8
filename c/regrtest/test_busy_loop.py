"""Spins silently on the CPU for a while (leakcheck fixture)."""
import os
import time
import unittest


class BusyLoopTest(unittest.TestCase):
    def test_spin(self):
        end = time.monotonic() + float(os.environ.get("LEAKCHECK_FIXTURE_SPIN", "60"))
        while time.monotonic() < end:
            pass


if __name__ == "__main__":
    unittest.main()
