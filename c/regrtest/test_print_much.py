"""Prints about 190 KB to stdout, more than a pipe holds (leakcheck fixture: a reader of
leakcheck's stdout that does not read)."""
import unittest


class PrintMuchTest(unittest.TestCase):
    def test_print_much(self):
        for i in range(3000):
            print(f"{i:05} " + "x" * 58)


if __name__ == "__main__":
    unittest.main()
