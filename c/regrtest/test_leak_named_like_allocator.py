"""Leaks one raw block per call through the extension's own helper `gc_alloc()`, named as one
of CPython's allocator functions is (leakcheck fixture): the helper is the leak site's top
frame, not allocator plumbing folded away."""
import unittest

import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_named_like_allocator(self):
        _leakfix.leak_raw_named_like_allocator()


if __name__ == "__main__":
    unittest.main()
