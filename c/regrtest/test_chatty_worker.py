"""Works for a while and says so (leakcheck fixture): for LEAKCHECK_FIXTURE_CHATTY seconds
(default 8) it prints a line, sleeps half a second and spins on the CPU for another half, over
and over. A test making progress, however long it takes: in a `-j` worker its output goes to the
worker's temporary file, which regrtest prints only when the test ends."""
import os
import time
import unittest


class ChattyWorkerTest(unittest.TestCase):
    def test_work(self):
        end = time.monotonic() + float(os.environ.get("LEAKCHECK_FIXTURE_CHATTY", "8"))
        step = 0
        while time.monotonic() < end:
            print("progress", step, flush=True)
            step += 1
            time.sleep(0.5)
            spin = time.monotonic() + 0.5
            while time.monotonic() < spin:
                pass


if __name__ == "__main__":
    unittest.main()
