"""unittest methods of every kind regrtest's verbose output names (leakcheck's JUnit has a
testcase per method)."""
import unittest


class Kinds(unittest.TestCase):
    def test_passes(self):
        pass

    def test_fails(self):
        self.assertEqual(1, 2)

    def test_errors(self):
        raise RuntimeError("boom")

    @unittest.skip("not <here> & now")
    def test_skipped(self):
        pass

    @unittest.expectedFailure
    def test_expected_failure(self):
        self.fail("expected")

    def test_docstring(self):
        """A docstring's first line ... ok"""

    def test_prints(self):
        print("output of the test")


class Subtests(unittest.TestCase):
    def test_subtests(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertLess(i, 2)


if __name__ == "__main__":
    unittest.main()
