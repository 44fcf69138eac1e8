"""A doctest example that keeps a new object alive each run (leakcheck fixture): doctest
compiles its examples anew each time, so each repetition runs a new code object."""
import doctest

KEPT = []


def keeper():
    """
    >>> KEPT.append(object())
    """


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(__name__))
    return tests
