"""The test stops its own process with SIGSTOP: nothing continues it (leakcheck fixture)."""
import os
import signal
import unittest


class StoppedSelfTest(unittest.TestCase):
    def test_stop_self(self):
        os.kill(os.getpid(), signal.SIGSTOP)


if __name__ == "__main__":
    unittest.main()
