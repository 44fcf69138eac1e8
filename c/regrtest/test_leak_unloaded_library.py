"""Leaks one raw block per call from a library loaded with ctypes.CDLL and unloaded again
(`_ctypes.dlclose`) in every repetition (leakcheck fixture): a copy of _leakfix under a new
name each time, so that it is really unmapped. The shim lists the process's modules at the
measurements only, when the library is gone: the site's frame in it has a runtime address and
no module, and a warning says why."""
import ctypes
import os
import shutil
import tempfile
import unittest

import _ctypes
import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_unloaded_library(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "copy.so")
            shutil.copy(_leakfix.__file__, path)
            library = ctypes.CDLL(path)
            library.leakfix_leak_raw_for_ctypes()
            _ctypes.dlclose(library._handle)


if __name__ == "__main__":
    unittest.main()
