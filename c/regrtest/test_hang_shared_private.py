"""A forked child waits for a process-private mutex in MAP_SHARED memory that its parent holds
while waiting for the child (leakcheck fixture; see c/hangfix.c)."""
import unittest

import _hangfix


class SharedPrivateMutexTest(unittest.TestCase):
    def test_shared_private_mutex(self):
        _hangfix.shared_private_mutex()


if __name__ == "__main__":
    unittest.main()
