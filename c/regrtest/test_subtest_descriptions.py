"""Failing subtests described every way unittest prints them: a message and parameters
(`[a msg (x)] (k=1)`), parameters whose values hold parentheses and brackets, two of them, as
errors (`(i=0, s='t (u) [v]')`), and a message alone (leakcheck fixture: a method's JUnit
testcase keeps which subtests failed, and each header's own FAIL or ERROR)."""
import unittest


class Described(unittest.TestCase):
    def test_message_and_params(self):
        with self.subTest("a msg (x)", k=1):
            self.fail("nested")

    def test_params(self):
        for i in range(2):
            with self.subTest(i=i, s="t (u) [v]"):
                raise ValueError(i)

    def test_message(self):
        with self.subTest("sub=1"):
            self.fail("m1")

    def test_passes(self):
        with self.subTest(i=1):
            pass


if __name__ == "__main__":
    unittest.main()
