"""Spins silently for a while (leakcheck fixture): on the CPU, or, with
LEAKCHECK_FIXTURE_NAP set, in a loop of short sleeps (a poll for something that never comes),
each in a new `sleep` process with LEAKCHECK_FIXTURE_NAP_PROCESS set."""
import os
import subprocess
import time
import unittest


class BusyLoopTest(unittest.TestCase):
    def test_spin(self):
        end = time.monotonic() + float(os.environ.get("LEAKCHECK_FIXTURE_SPIN", "60"))
        nap = float(os.environ.get("LEAKCHECK_FIXTURE_NAP", "0"))
        in_process = bool(os.environ.get("LEAKCHECK_FIXTURE_NAP_PROCESS"))
        while time.monotonic() < end:
            if nap and in_process:
                subprocess.run(["sleep", str(nap)], check=True)
            elif nap:
                time.sleep(nap)


if __name__ == "__main__":
    unittest.main()
