"""Alters the execution environment in two ways, a variable set and a file left behind
(leakcheck fixture): 3.14+ regrtest lists both reasons under the test in its summary's env
changed list (`    test_env_changed_twice:`, then each reason indented by eight spaces)."""
import os
import unittest


class EnvChangedTwice(unittest.TestCase):
    def test_sets_a_variable_and_leaves_a_file(self):
        os.environ["LEAKCHECK_FIXTURE_ENV_CHANGED_TWICE"] = "1"
        with open("leakcheck_fixture_left_behind.txt", "w"):
            pass


if __name__ == "__main__":
    unittest.main()
