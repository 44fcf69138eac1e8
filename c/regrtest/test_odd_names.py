"""Test methods whose names hold '.', '-' and spaces (made with setattr, as generated tests
are), a nested class, a doctest in a class, and subtests (leakcheck fixture)."""
import doctest
import unittest


class Odd(unittest.TestCase):
    def test_plain_fails(self):
        self.assertEqual(1, 2)

    def test_subtests(self):
        for i in range(2):
            with self.subTest("msg", i=i):
                self.assertEqual(i, 0)


def _fails(self):
    self.assertEqual("a", "b")


def _passes(self):
    pass


setattr(Odd, "test_case-1.5 x", _fails)
setattr(Odd, "test_dotted.name", _fails)
setattr(Odd, "test_ok-2 y", _passes)


class Outer:
    class Inner(unittest.TestCase):
        def test_nested(self):
            self.fail("nested")


class Doc:
    def func(self):
        """
        >>> 1 + 1
        3
        """


def load_tests(loader, tests, pattern):
    tests.addTests(loader.loadTestsFromTestCase(Outer.Inner))
    tests.addTests(doctest.DocTestSuite(__name__))
    return tests
