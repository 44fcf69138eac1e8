"""A method marked expectedFailure that passes: unittest's `unexpected success`, which fails
the test file (regrtest: failed) with no FAIL:/ERROR: header naming it."""
import unittest


class Surprise(unittest.TestCase):
    def test_passes(self):
        pass

    @unittest.expectedFailure
    def test_expected_failure(self):
        self.fail("expected")

    @unittest.expectedFailure
    def test_xpass(self):
        pass


if __name__ == "__main__":
    unittest.main()
