"""Prints, in every repetition, what regrtest prints for a test that leaks references, memory
blocks and file descriptors, on stdout and stderr, but leaks nothing (leakcheck fixture):
regrtest's own leak lines come after the marks of the last repetition, and there are none."""
import sys
import unittest


class Imitates(unittest.TestCase):
    def test_prints_leak_lines_of_every_kind(self):
        print("test_imitates_leak_kinds leaked [7, 7, 7] references, sum=21", flush=True)
        print("test_imitates_leak_kinds leaked [8, 8, 8] memory blocks, sum=24", file=sys.stderr, flush=True)
        print("test_imitates_leak_kinds leaked [9, 9, 9] file descriptors, sum=27", flush=True)


if __name__ == "__main__":
    unittest.main()
