"""Leaks Python objects from Python code, one of each per call: an instance of a class (a GC
object with a managed dict, so that its block starts with a pre-header) and a dict (leakcheck
fixture for the leaked objects' types)."""
import unittest

_kept = []


class Kept:
    pass


class LeakTest(unittest.TestCase):
    def test_leak_instances(self):
        _kept.append(Kept())
        _kept.append({"key": "value"})


if __name__ == "__main__":
    unittest.main()
