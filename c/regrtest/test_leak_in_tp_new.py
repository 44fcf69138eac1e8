"""A type's tp_new leaks a dict per instance (leakcheck fixture; see leaky_new in
c/leakfix.c). The first dicts of each repetition come from CPython's dict free list, filled by
unittest's own code (their sites are unittest's lines, which leakcheck marks free_list_reuse);
the rest from the allocator at the PyDict_New in tp_new, the site the report points at."""
import unittest

import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_in_tp_new(self):
        for _ in range(100):
            _leakfix.LeakyNew()


if __name__ == "__main__":
    unittest.main()
