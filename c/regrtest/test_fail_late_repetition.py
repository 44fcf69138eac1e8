"""Fails in the last of regrtest's -R repetitions only, after leaking references in each
(leakcheck fixture). regrtest prints the failure on the line of its repetition marks
(3.11 `.....test X failed -- Traceback ...`, 3.13 `XX. ..test X failed -- ...`).

The counter lives in the module, which regrtest imports once and runs six times under -R 3:3.
"""
import unittest

calls = 0
_hoard = []


class FailLate(unittest.TestCase):
    def test_fails_in_the_last_repetition(self):
        global calls
        calls += 1
        # Enough references that 3.13 marks each repetition `X` (10 or more).
        _hoard.append([object() for _ in range(20)])
        if calls == 6:
            self.fail("failed on repetition %d" % calls)


if __name__ == "__main__":
    unittest.main()
