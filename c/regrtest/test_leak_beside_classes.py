"""Leaks one object per call beside several TestCase classes (leakcheck fixture): each class's
`tearDown_exceptions` list, made by unittest's doClassCleanups, rotates through CPython's list
free list, so a list made in a counted repetition lives on while one made in a warm-up dies.
Its site grows with no leak; only the fixture's is a leak site."""
import unittest

import _leakfix


class A0(unittest.TestCase):
    def test_0(self):
        pass


class A1(unittest.TestCase):
    def test_1(self):
        pass


class A2(unittest.TestCase):
    def test_2(self):
        pass


class A3(unittest.TestCase):
    def test_3(self):
        pass


class LeakTest(unittest.TestCase):
    def test_leak_beside_classes(self):
        _leakfix.leak_object()


if __name__ == "__main__":
    unittest.main()
