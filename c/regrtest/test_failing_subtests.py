"""One method whose subtests fail twice: unittest prints a FAIL: header per failing subtest
(leakcheck fixture: issue-draft titles and JUnit messages count the method once)."""
import unittest


class Sub(unittest.TestCase):
    def test_subtests(self):
        for i in range(4):
            with self.subTest(i=i):
                self.assertLess(i, 2)

    def test_ok(self):
        pass


if __name__ == "__main__":
    unittest.main()
