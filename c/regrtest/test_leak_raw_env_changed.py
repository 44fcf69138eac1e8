"""Leaks one raw block per call and alters the execution environment: under `-R 3:3
--fail-env-changed` regrtest fails it (`failed (env changed)`) and leakcheck finds the raw leak,
two problems of one test (leakcheck fixture; see c/leakfix.c)."""
import os
import unittest

import _leakfix


class LeakTest(unittest.TestCase):
    def test_leak_raw_env_changed(self):
        _leakfix.leak_raw()
        os.environ["LEAKCHECK_FIXTURE_ENV_CHANGED"] = "1"


if __name__ == "__main__":
    unittest.main()
