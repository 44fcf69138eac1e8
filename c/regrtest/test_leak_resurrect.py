"""An object whose finalizer resurrects it, kept per repetition (leakcheck fixture). CPython
reports its death to the reference tracer before the finalizer runs, and nothing when the
finalizer brings it back: leakcheck must still find it alive at its site."""
import gc
import unittest

KEPT = []


class Resurrected:
    def __del__(self):
        KEPT.append(self)


class LeakTest(unittest.TestCase):
    def test_leak_resurrect(self):
        kept = Resurrected()
        kept.payload = len(KEPT)
        del kept
        gc.collect()


if __name__ == "__main__":
    unittest.main()
