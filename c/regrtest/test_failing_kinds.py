"""Three failing methods of three kinds: a setUpClass error, a failure, and a method with two
failing subtests (leakcheck fixture: issue-draft titles count each method once)."""
import unittest


class BadClassSetup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise RuntimeError("setUpClass broke")

    def test_never(self):
        pass


class Fails(unittest.TestCase):
    def test_fails(self):
        self.assertEqual(1, 2)


class Sub(unittest.TestCase):
    def test_subtests(self):
        for i in range(4):
            with self.subTest(i=i):
                self.assertLess(i, 2)


if __name__ == "__main__":
    unittest.main()
