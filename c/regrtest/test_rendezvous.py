"""Makes two regrtest runs of one command overlap for sure: at its first call the test creates
the file $RENDEZVOUS_ME names and waits (up to a minute) for the one $RENDEZVOUS_OTHER names,
which the same test of the other run creates (leakcheck fixture). Without the variables, it
passes at once."""
import os
import time
import unittest

calls = 0


class RendezvousTest(unittest.TestCase):
    def test_meet_the_other_run(self):
        global calls
        calls += 1
        me, other = os.environ.get("RENDEZVOUS_ME"), os.environ.get("RENDEZVOUS_OTHER")
        if calls > 1 or not me or not other:
            return
        open(me, "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists(other) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(other), "the other run never came")


if __name__ == "__main__":
    unittest.main()
