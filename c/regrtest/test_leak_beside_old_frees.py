"""Leaks one object per call while blocks from before the test are freed as the test method
returns (leakcheck fixture): the old blocks' frees happen on unittest's line that called the
method, which must not offset the leak."""
import unittest

import _leakfix

OLD = {str(i) * 3: [str(i)] for i in range(3000)}


class LeakTest(unittest.TestCase):
    def test_leak_beside_old_frees(self):
        old = OLD.popitem()
        _leakfix.leak_object()


if __name__ == "__main__":
    unittest.main()
