"""Leaks one raw block per call, which regrtest cannot see, and prints what regrtest prints for
a test that leaks references and fails, which it does not (leakcheck fixture): regrtest passes
it, says nothing of it as it passed quickly, and lists it as OK."""
import unittest

import _leakfix


class Imitates(unittest.TestCase):
    def test_prints_a_reference_leak(self):
        _leakfix.leak_raw()
        print("test_imitates_leak_lines leaked [1, 1, 1] references, sum=3", flush=True)
        print("test_imitates_leak_lines failed (reference leak)", flush=True)
        print("test test_imitates_leak_lines failed", flush=True)


if __name__ == "__main__":
    unittest.main()
