"""Alters the execution environment: regrtest says `failed (env changed)` and passes the run
unless told `--fail-env-changed` (leakcheck fixture)."""
import os
import unittest


class EnvChanged(unittest.TestCase):
    def test_sets_a_variable(self):
        os.environ["LEAKCHECK_FIXTURE_ENV_CHANGED"] = "1"


if __name__ == "__main__":
    unittest.main()
