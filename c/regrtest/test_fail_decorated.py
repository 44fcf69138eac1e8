"""A failing test method behind a decorator: the traceback's first frame is the decorator's
`wrapper`, not the method (leakcheck fixture: issue-draft titles name the method)."""
import functools
import unittest


def retried(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        return method(*args, **kwargs)

    return wrapper


class Decorated(unittest.TestCase):
    @retried
    def test_wrapped(self):
        self.assertEqual(1, 2)


if __name__ == "__main__":
    unittest.main()
