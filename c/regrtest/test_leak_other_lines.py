"""One leak reached from another Python line in each repetition, the C path below the same
(leakcheck fixture): no site grows every time told apart by its Python line, but one does by
its C frames alone."""
import itertools
import unittest

import _leakfix

_turn = itertools.cycle(range(3))


class LeakTest(unittest.TestCase):
    def test_leak_other_lines(self):
        turn = next(_turn)
        if turn == 0:
            _leakfix.leak_raw()
        elif turn == 1:
            _leakfix.leak_raw()
        else:
            _leakfix.leak_raw()


if __name__ == "__main__":
    unittest.main()
