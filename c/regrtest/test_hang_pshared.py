"""Not a hang: a forked child waits a few seconds for a process-shared mutex that its parent
holds and then releases (leakcheck fixture; see c/hangfix.c)."""
import unittest

import _hangfix


class ProcessSharedMutexTest(unittest.TestCase):
    def test_child_waits_for_parents_mutex(self):
        # Longer than leakcheck's 2 s before it inspects a still process.
        self.assertEqual(_hangfix.pshared_wait(5), 0)


if __name__ == "__main__":
    unittest.main()
