"""A signal handler waits forever for a mutex the code it interrupted holds (leakcheck fixture;
see signal_while_locked in c/hangfix.c): the native stack goes through the signal frame, from
the handler to the interrupted C function and the Python frames under it."""
import unittest

import _hangfix


class SignalHandlerDeadlockTest(unittest.TestCase):
    def test_signal_while_locked(self):
        _hangfix.signal_while_locked()


if __name__ == "__main__":
    unittest.main()
