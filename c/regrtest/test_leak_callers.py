"""One leak reached from another caller each repetition, as through a dispatch table
(leakcheck fixture): the allocating line is the same every time, its callers are not."""
import itertools
import unittest

import _leakfix


def leak():
    _leakfix.leak_raw()


def first():
    leak()


def second():
    leak()


def third():
    leak()


_callers = itertools.cycle([first, second, third])


class LeakTest(unittest.TestCase):
    def test_leak_callers(self):
        next(_callers)()


if __name__ == "__main__":
    unittest.main()
