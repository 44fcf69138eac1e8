"""regrtest module for the _asanext fixture (c/sanitizer/asanext.c): calls _asanext.double_free()
in a child process whose ASAN_OPTIONS end with symbolize=0, as a test that sets its own sanitizer
options does: the runtime prints the frames as (module+0xOFFSET) and leakcheck symbolizes them.
The same bug reported by a process that symbolized its own frames is the same finding."""
import os
import subprocess
import sys
import unittest


class AsanExtDoubleFreeUnsymbolizedTest(unittest.TestCase):
    def test_double_free_in_a_child(self):
        here = os.path.dirname(os.path.abspath(__file__))
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":symbolize=0"
        code = "import _asanext; _asanext.double_free()"
        child = subprocess.run([sys.executable, "-c", code], cwd=here, env=env)
        self.assertNotEqual(child.returncode, 0, "ASAN ends the child at the double free")
