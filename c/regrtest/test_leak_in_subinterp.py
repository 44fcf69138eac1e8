"""Two leaks on two lines of code run in a subinterpreter (leakcheck fixture): while the
subinterpreter runs, its thread state, not the main interpreter's, holds the running frames.
The code's first line finds _leakfix beside this module (a subinterpreter's sys.path is the
default one); the leaks are on its lines 2 and 4."""
import os
import unittest
from test import support

HERE = os.path.dirname(os.path.abspath(__file__))
CODE = (
    f"import sys; sys.path.insert(0, {HERE!r}); import _leakfix\n"
    "_leakfix.leak_raw()\n"
    "x = 1\n"
    "_leakfix.leak_raw()\n"
)


class LeakTest(unittest.TestCase):
    def test_leak_in_subinterp(self):
        self.assertEqual(support.run_in_subinterp(CODE), 0)


if __name__ == "__main__":
    unittest.main()
