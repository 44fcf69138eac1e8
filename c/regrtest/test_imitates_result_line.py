"""Prints a line like regrtest's result line for itself, `passed`, then fails (leakcheck
fixture): regrtest's own line, `test_imitates_result_line failed (1 failure)`, comes after it
when the test is the last one."""
import unittest


class Imitates(unittest.TestCase):
    def test_prints_passed_then_fails(self):
        print("test_imitates_result_line passed", flush=True)
        self.fail("real failure")


if __name__ == "__main__":
    unittest.main()
