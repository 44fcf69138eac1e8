"""regrtest module for the _asanext fixture (c/sanitizer/asanext.c): the test copies the
extension into a temporary directory, runs it in a subprocess that overflows a heap block, and
removes the directory. With ASAN_OPTIONS=symbolize=0, leakcheck symbolizes the subprocess's
report itself: the module must still be readable then."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class AsanExtTmpCopyTest(unittest.TestCase):
    def test_overflow_in_a_removed_copy(self):
        (extension,) = glob.glob(os.path.join(HERE, "_asanext*.so"))
        directory = tempfile.mkdtemp()
        try:
            shutil.copy(extension, directory)
            code = "import _asanext; _asanext.overflow()"
            subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=directory))
        finally:
            shutil.rmtree(directory)
