"""Restarts tracemalloc in every repetition and leaks nothing (leakcheck fixture). Under
`-X tracemalloc=1` tracemalloc.stop() takes leakcheck's hooks out (tracemalloc wrapped CPython's
allocators before them): blocks allocated through the hooks are then freed without them."""
import tracemalloc
import unittest


class TracemallocTest(unittest.TestCase):
    def test_tracemalloc_restart(self):
        tracemalloc.stop()
        tracemalloc.start()
        self.assertEqual(len([str(i) for i in range(50)]), 50)


if __name__ == "__main__":
    unittest.main()
