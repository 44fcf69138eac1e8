"""A Ctrl-C that lands while regrtest imports its -R driver, test.libregrtest.refleak, which the
leakcheck shim patches at that moment (leakcheck fixture). Regrtest 3.11 imports that module
after the test module, so the audit hook below sees it and interrupts the process right there."""
import os
import signal
import sys
import unittest

_fired = False


def _interrupt_at_refleak_import(event, args):
    global _fired
    if not _fired and event == "import" and args[0] == "test.libregrtest.refleak":
        _fired = True
        os.kill(os.getpid(), signal.SIGINT)


# Python leaves SIGINT ignored when it started so (a background job of a non-interactive shell).
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.addaudithook(_interrupt_at_refleak_import)


class InterruptTest(unittest.TestCase):
    def test_nothing(self):
        pass


if __name__ == "__main__":
    unittest.main()
