"""Leaks one raw block per repetition through a call that 3.11 specializes midway (leakcheck
fixture; see c/leakfix.c's leak_raw_n).

The call in `leak` runs twice at import and once per repetition. On CPython 3.11.2, its
adaptive instruction specializes it (`PRECALL_NO_KW_BUILTIN_O`) during the counted repetitions
of `-R 3:3`: before, the eval loop calls `leak_raw_n` through `PyObject_Vectorcall`; after,
from another place of `_PyEval_EvalFrameDefault`. Same leak, two native stacks.
"""
import unittest

import _leakfix


def leak(n):
    _leakfix.leak_raw_n(n)


for _ in range(2):
    leak(0)


class LeakTest(unittest.TestCase):
    def test_leak_specialized(self):
        leak(1)


if __name__ == "__main__":
    unittest.main()
