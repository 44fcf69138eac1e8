"""Doctests from the module's `__test__` dict, whose keys hold dots, spaces and parentheses
(leakcheck fixture). doctest names each `test_doctest_keys.__test__.KEY` (a class given there
adds its methods' as `KEY.method`), and unittest describes a doctest by that name split at
its last dot: `b (test_doctest_keys.__test__.a)` for the key "a.b", with a `Doctest:
test_doctest_keys.__test__.a.b` line under it. "twice.twice" reads like a unittest method
`twice` of a class `test_doctest_keys.__test__` (`twice (test_doctest_keys.__test__.twice)`),
which only its `Doctest:` line tells apart."""
import doctest


def fails(n):
    """A failing example of its own: doctest finds each object once (by its id), so the
    values must be distinct strings."""
    return f"\n>>> {n} + 1\n{n + 2}\n"


def passes(n):
    return f"\n>>> {n} + 1\n{n + 1}\n"


class Holder:
    def method(self):
        """
        >>> 2 * 2
        5
        """


# Not this module's to doctest's finder, so found only through `__test__`.
Holder.__module__ = "elsewhere"

__test__ = {
    "a.b": fails(1),
    "with space": fails(2),
    "dotted.key with space": passes(3),
    "with (parens)": passes(4),
    "twice.twice": fails(5),
    "plain": passes(6),
    "K": Holder,
}


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(__name__))
    return tests
