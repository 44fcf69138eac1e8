"""Aborts the process in the middle of regrtest's -R repetitions (leakcheck fixture).

The counter lives in the module, which regrtest imports once and runs six times under -R 3:3.
"""
import os
import unittest

calls = 0


class CrashTest(unittest.TestCase):
    def test_crash_on_third_repetition(self):
        global calls
        calls += 1
        if calls == 3:
            os.abort()


if __name__ == "__main__":
    unittest.main()
