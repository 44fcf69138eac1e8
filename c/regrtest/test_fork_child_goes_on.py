"""Forks during the 5th call (a counted -R 3:3 repetition) and the child returns from the test
instead of calling os._exit: the child goes on running regrtest's loop and the tests after
this one, as a real test's forgotten os._exit does. The parent waits for it (leakcheck
fixture)."""
import os
import unittest

calls = 0


class ForkChildGoesOnTest(unittest.TestCase):
    def test_fork_without_exit(self):
        global calls
        calls += 1
        if calls == 5:
            pid = os.fork()
            if pid == 0:
                return  # the bug: no os._exit(0) here
            os.waitpid(pid, 0)


if __name__ == "__main__":
    unittest.main()
