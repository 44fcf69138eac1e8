"""A fixture fails: the traceback's only frame is `setUp`, which is not the test method
(leakcheck fixture: issue-draft titles do not name `setUp` as the method)."""
import unittest


class BrokenFixture(unittest.TestCase):
    def setUp(self):
        raise RuntimeError("setUp broke")

    def test_one(self):
        pass


if __name__ == "__main__":
    unittest.main()
