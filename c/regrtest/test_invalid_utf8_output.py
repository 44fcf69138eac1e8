"""Writes bytes that are not UTF-8 to its stdout (leakcheck fixture). In a -j worker, 3.11's
regrtest decodes the worker's output as UTF-8: its worker thread fails with UnicodeDecodeError,
and regrtest stops the run (`Warning -- regrtest worker thread failed`, `NO TEST RUN`)."""
import sys
import unittest


class InvalidUtf8(unittest.TestCase):
    def test_writes_invalid_utf8(self):
        sys.stdout.flush()
        sys.stdout.buffer.write(b"not UTF-8: \xff\xfe end\n")
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    unittest.main()
