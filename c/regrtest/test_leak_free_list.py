"""Pure Python code that keeps a new dict per repetition (leakcheck fixture). CPython takes
the dict, and its key table, from the free lists that unittest's own code filled after
regrtest's gc.collect() emptied them: on 3.11 the sites the shim records are unittest's lines,
which leakcheck marks free_list_reuse and does not present as the leak; from 3.13 on the shim
follows the dict off the free list (CPython's reference tracer), and only the key table's site
is unittest's."""
import unittest

KEPT = []


class LeakTest(unittest.TestCase):
    def test_leak_free_list(self):
        KEPT.append({"k": len(KEPT)})


if __name__ == "__main__":
    unittest.main()
