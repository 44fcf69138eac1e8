"""Leaks one PyMem_RawMalloc block per call from a coroutine's stack (leakcheck fixture)."""
import unittest

import _leakfix


class LeakOnCoroutineTest(unittest.TestCase):
    def test_leak_on_coroutine(self):
        _leakfix.leak_raw_on_coroutine()


if __name__ == "__main__":
    unittest.main()
