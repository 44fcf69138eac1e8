"""Prints what quiet mode (`-q`) prints for another test that leaks references and fails, and
for itself, which neither does (leakcheck fixture): regrtest passes it and names no test."""
import unittest


class ImitatesAnother(unittest.TestCase):
    def test_prints_another_tests_leak(self):
        print("test_ghost leaked [1, 1, 1] references, sum=3", flush=True)
        print("test_ghost failed (reference leak)", flush=True)
        print("test_imitates_another_test leaked [2, 2, 2] memory blocks, sum=6", flush=True)


if __name__ == "__main__":
    unittest.main()
