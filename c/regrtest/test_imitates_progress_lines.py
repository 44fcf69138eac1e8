"""Prints regrtest's progress lines once, as a test showing a nested regrtest's output does
(leakcheck fixture): that the test run before it (`IMITATED_TEST`, default test_balanced)
failed with a reference leak, in 3.11's form and in 3.12+'s, that it passed, and that this test
passed, numbered as regrtest numbers the lines of a run of `IMITATED_TOTAL` tests (default 2)
up to this test's own number (`IMITATED_AT`, default the total). regrtest passes both tests:
none of these lines is its own."""
import os
import unittest

OTHER = os.environ.get("IMITATED_TEST", "test_balanced")
TOTAL = int(os.environ.get("IMITATED_TOTAL", "2"))
AT = int(os.environ.get("IMITATED_AT", str(TOTAL)))
ME = __name__.rpartition(".")[2]
printed = False


class ImitatesProgress(unittest.TestCase):
    def test_prints_progress_lines(self):
        global printed
        if printed:
            return
        printed = True
        for n in range(1, AT + 1):
            for body in (
                f"[{n}/{TOTAL}/1] {ME} -- {OTHER} failed (reference leak)",
                f"[{n}/{TOTAL}/1] {OTHER} failed (reference leak)",
                f"[{n}/{TOTAL}] {OTHER} passed",
                f"[{n}/{TOTAL}] {ME} passed",
            ):
                print(f"0:00:01 load avg: 0.00 {body}", flush=True)


if __name__ == "__main__":
    unittest.main()
