"""Fails in the first repetition with a message over several lines (leakcheck fixture):
assertEqual of two strings prints its diff, then `: msg`, under the exception's line."""
import unittest


class MultilineMessage(unittest.TestCase):
    def test_strings_differ(self):
        self.assertEqual("\u00e9", "\u00fc", "mismatch \u2603")


if __name__ == "__main__":
    unittest.main()
