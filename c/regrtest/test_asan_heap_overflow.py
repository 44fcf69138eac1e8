"""Reads 4096 bytes from a 64-byte ctypes buffer: under an AddressSanitizer CPython, ASAN reports
a heap-buffer-overflow in memcpy, called from PyBytes_FromStringAndSize by ctypes' string_at, and
the process exits (leakcheck fixture; meaningless without ASAN)."""
import ctypes
import unittest


class HeapOverflowTest(unittest.TestCase):
    def test_read_past_a_buffer(self):
        buf = ctypes.create_string_buffer(64)
        ctypes.string_at(ctypes.addressof(buf), 4096)


if __name__ == "__main__":
    unittest.main()
