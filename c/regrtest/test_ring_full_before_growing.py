"""A C ring of eight raw buffers, full before the test runs (filled at import): each call
frees the oldest and makes a bigger one in its place (leakcheck fixture). Not a leak: the ring
always holds eight blocks; the site's blocks, and the frees, differ in size each time."""
import unittest

import _leakfix

for _ in range(8):
    _leakfix.ring_push_growing()


class RingTest(unittest.TestCase):
    def test_ring_full_before_growing(self):
        _leakfix.ring_push_growing()


if __name__ == "__main__":
    unittest.main()
