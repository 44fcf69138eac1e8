"""Turns its process's stdout into a pipe with no reader in its last -R repetition (leakcheck
fixture), as a reader that went away (`| head -1`) leaves regrtest's: the test runs through, and
regrtest dies of the BrokenPipeError printing the next test's progress line, which never reaches
the output. The number of open descriptors stays the same: no leak for regrtest to see."""
import os
import sys
import unittest

_runs = [0]


class ClosesStdout(unittest.TestCase):
    def test_break_stdout_in_the_last_repetition(self):
        _runs[0] += 1
        if _runs[0] == 6:
            sys.stdout.flush()
            read, write = os.pipe()
            os.close(read)
            os.dup2(write, 1)
            os.close(write)


if __name__ == "__main__":
    unittest.main()
