"""Doctests run by unittest through doctest.DocTestSuite, one passing and one failing
(leakcheck fixture): regrtest's output names them `bad (test_doctest_fails)`, with a
`Doctest: test_doctest_fails.bad` line, as CPython's doctest-based tests (test_generators,
test_descrtut, test_extcall, test_deque) are named."""
import doctest


def good():
    """
    >>> 1 + 1
    2
    """


def bad():
    """
    >>> 1 + 1
    3
    """


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(__name__))
    return tests
