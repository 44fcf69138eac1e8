"""One leak reached from one Python line through two C paths in turn, a dict path and a list
path sharing the allocating helper, as an encoder's do (leakcheck fixture): no site grows every
time told apart by its C frames, but one does by its allocating C line and its Python line."""
import itertools
import unittest

import _leakfix

_turn = itertools.cycle([{}, []])


class LeakTest(unittest.TestCase):
    def test_leak_two_c_paths(self):
        _leakfix.leak_raw_two_paths(next(_turn))


if __name__ == "__main__":
    unittest.main()
