"""Leaks one 48-byte PyMem_RawMalloc block per call beside a ring of three blocks of the same
size and domain, which frees its oldest and makes a new one on each call (leakcheck fixture).
raw grows by one block a repetition; the ring's site grows too, since a block it made in a
counted repetition lives on while one made in a warm-up dies. Only the leak is a leak site."""
import unittest

import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_beside_ring(self):
        _leakfix.leak_raw()
        _leakfix.ring_push()


if __name__ == "__main__":
    unittest.main()
