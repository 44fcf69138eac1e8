"""Creates and destroys an isolated subinterpreter in each repetition, then leaks one
PyMem_RawMalloc block (leakcheck fixture, CPython 3.12+; see test_subinterp_isolated.py): the
subinterpreter's own pymalloc bookkeeping must not hide the leak in the raw counts."""
import unittest

import _interpreters

import _leakfix


class LeakTest(unittest.TestCase):
    def test_subinterp_isolated_leak(self):
        _interpreters.destroy(_interpreters.create())
        _leakfix.leak_raw()


if __name__ == "__main__":
    unittest.main()
