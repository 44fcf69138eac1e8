"""3.12+: a thread waits for the main GIL, held for good, beside a subinterpreter with its own
GIL whose holder waits for a mutex the first thread holds: no lock cycle (leakcheck fixture; see
c/hangfix.c)."""
import unittest

import _hangfix


class OwnGilSubinterpreterTest(unittest.TestCase):
    def test_own_gil_subinterpreter_wait(self):
        _hangfix.own_gil_subinterpreter_wait()


if __name__ == "__main__":
    unittest.main()
