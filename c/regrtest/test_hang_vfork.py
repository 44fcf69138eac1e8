"""The test vforks a child that waits for good before it would exec (leakcheck fixture): the
parent sits in vfork's uninterruptible wait (state D), which no ptrace interrupt stops."""
import unittest

import _hangfix


class VforkTest(unittest.TestCase):
    def test_vfork_waiting_child(self):
        _hangfix.vfork_waiting_child()


if __name__ == "__main__":
    unittest.main()
