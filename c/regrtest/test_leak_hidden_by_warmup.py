"""A 24-byte PyMem_Malloc leak per repetition while the test drains, one block per repetition,
a pool of 200-byte blocks it filled in its first repetition (leakcheck fixture): the mem domain
stays flat, so by the rule there is no leak, but the site that grew every time is said in a
note."""
import unittest

import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_hidden_by_warmup(self):
        _leakfix.pool_fill_once(100)
        _leakfix.pool_pop()
        _leakfix.leak_mem()


if __name__ == "__main__":
    unittest.main()
