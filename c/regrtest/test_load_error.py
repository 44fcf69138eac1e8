"""A test module whose tests cannot all be loaded: regrtest 3.11 raises "errors while loading
tests" from inside the -R loop and prints the traceback (leakcheck fixture)."""
import unittest


def load_tests(loader, tests, pattern):
    tests.addTest(loader.loadTestsFromName("leakcheck_no_such_module"))
    return tests
