"""Like test_hang_mutex_cycle, in a process that first makes itself non-dumpable
(prctl(PR_SET_DUMPABLE, 0)): a tracer without CAP_SYS_PTRACE may then not attach, as under a
strict Yama setting or in a container without that capability (leakcheck fixture).
"""
import ctypes
import unittest

import _hangfix

PR_SET_DUMPABLE = 4


class UndumpableMutexCycleTest(unittest.TestCase):
    def test_mutex_cycle_undumpable(self):
        libc = ctypes.CDLL(None, use_errno=True)
        self.assertEqual(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), 0, ctypes.get_errno())
        _hangfix.mutex_cycle()


if __name__ == "__main__":
    unittest.main()
