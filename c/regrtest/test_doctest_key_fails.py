"""One failing doctest from the module's `__test__` dict, under a key with a dot and a space
(leakcheck fixture): without -v regrtest prints its traceback, `AssertionError: Failed doctest
test for test_doctest_key_fails.__test__.one.failing key`, which names the doctest."""
import doctest

__test__ = {
    "one.failing key": """
>>> 1 + 1
3
""",
    "ok": """
>>> 1 + 1
2
""",
}


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(__name__))
    return tests
