"""Allocates in every domain and frees it all (leakcheck fixture; see c/leakfix.c)."""
import unittest

import _leakfix


class BalancedTest(unittest.TestCase):
    def test_balanced(self):
        for _ in range(10):
            _leakfix.balanced()


if __name__ == "__main__":
    unittest.main()
