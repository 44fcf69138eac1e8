"""A failure whose message is one line of 1 MiB (leakcheck fixture): the reports keep the
line, cut, not drop it."""
import unittest


class LongMessage(unittest.TestCase):
    def test_long_message(self):
        self.fail("L" * (1024 * 1024))


if __name__ == "__main__":
    unittest.main()
