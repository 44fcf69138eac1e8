"""Leaks from functions whose names CPython keeps as 2- and 4-byte strings (UCS-2, UCS-4),
which a code object holds without a UTF-8 copy, and from one whose name is longer than
leakcheck keeps (4096 bytes of UTF-8); the tests run it from a directory named in such text too
(leakcheck fixture; see c/leakfix.c)."""
import types
import unittest

import _leakfix


def 日本語():
    _leakfix.leak_raw()


def 𠀀𠀁():
    _leakfix.leak_mem()


def _long_name():
    _leakfix.leak_raw_n(1)


# 1400 three-byte characters (4200 bytes of UTF-8), named so where the code object keeps it.
_long_name = types.FunctionType(_long_name.__code__.replace(co_qualname="名" * 1400), globals())


class 試験(unittest.TestCase):
    def test_leak_unicode_names(self):
        日本語()
        𠀀𠀁()
        _long_name()


if __name__ == "__main__":
    unittest.main()
