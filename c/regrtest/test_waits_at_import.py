"""Waits at its import, before regrtest's -R repetitions of it begin, until the file
$IMPORT_WAITS_FOR names exists (up to a minute): another regrtest run of the same command can
run to its end meanwhile, while this one's process lives on (leakcheck fixture). Without the
variable, it imports at once."""
import os
import time
import unittest

_path = os.environ.get("IMPORT_WAITS_FOR")
if _path:
    _deadline = time.monotonic() + 60
    while not os.path.exists(_path) and time.monotonic() < _deadline:
        time.sleep(0.05)


class WaitsAtImportTest(unittest.TestCase):
    def test_imported(self):
        pass


if __name__ == "__main__":
    unittest.main()
