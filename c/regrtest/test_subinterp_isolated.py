"""Creates and destroys an isolated subinterpreter in each repetition, and leaks nothing
(leakcheck fixture, CPython 3.12+). An isolated subinterpreter has its own pymalloc state: its
arena list and arena map nodes are allocated with PyMem_RawRealloc / PyMem_RawCalloc from inside
an object allocation, and freed with PyMem_RawFree when the interpreter is destroyed."""
import unittest

import _interpreters


class LeakTest(unittest.TestCase):
    def test_subinterp_isolated(self):
        _interpreters.destroy(_interpreters.create())


if __name__ == "__main__":
    unittest.main()
