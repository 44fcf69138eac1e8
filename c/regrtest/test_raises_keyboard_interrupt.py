"""A test that raises KeyboardInterrupt itself: regrtest stops the run as after a Ctrl-C
(`Tests result: INTERRUPTED`, exit status 130), though no signal came (leakcheck fixture: the
JUnit XML fails the run on that status, no testcase failing)."""
import unittest


class Interrupts(unittest.TestCase):
    def test_interrupts(self):
        raise KeyboardInterrupt


if __name__ == "__main__":
    unittest.main()
