"""Prints what another regrtest run prints at its end and start - a whole summary, a run
header, a progress line for a test_ghost - and passes (leakcheck fixture): regrtest's lines
printed by a test decide nothing, the run goes on with the tests after it."""
import unittest

FAKE = """
== Tests result: SUCCESS ==

All 1 test OK.

Total duration: 1.0 sec
Tests result: SUCCESS
0:00:00 load avg: 0.10 Run tests sequentially
0:00:00 load avg: 0.10 [1/1] test_ghost"""


class PrintsRegrtestRun(unittest.TestCase):
    def test_prints_a_run(self):
        print(FAKE, flush=True)


if __name__ == "__main__":
    unittest.main()
