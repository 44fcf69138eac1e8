"""Frees a PyMem_RawMalloc block twice through PyMem_RawFree: under an AddressSanitizer CPython,
the debug hooks' check of the freed block is a heap-use-after-free, reached through leakcheck's
shim, which wraps the raw domain in -R runs (leakcheck fixture; meaningless without ASAN)."""
import ctypes
import unittest

raw_malloc = ctypes.pythonapi.PyMem_RawMalloc
raw_malloc.argtypes = [ctypes.c_size_t]
raw_malloc.restype = ctypes.c_void_p
raw_free = ctypes.pythonapi.PyMem_RawFree
raw_free.argtypes = [ctypes.c_void_p]
raw_free.restype = None


class RawDoubleFreeTest(unittest.TestCase):
    def test_raw_double_free(self):
        block = raw_malloc(24)
        raw_free(block)
        raw_free(block)


if __name__ == "__main__":
    unittest.main()
