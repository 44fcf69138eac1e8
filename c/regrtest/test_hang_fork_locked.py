"""A forked child takes a mutex it inherited locked (leakcheck fixture; see c/hangfix.c)."""
import unittest

import _hangfix


class ForkLockedTest(unittest.TestCase):
    def test_fork_with_locked_mutex(self):
        status = _hangfix.fork_with_locked_mutex()
        # leakcheck ends the stuck child; the child never exits on its own.
        self.assertNotEqual(status, 0)


if __name__ == "__main__":
    unittest.main()
