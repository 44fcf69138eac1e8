"""A lock cycle across two sibling processes: two children the test's process forks take two
process-shared mutexes in opposite orders, and the test waits for both (leakcheck fixture; see
c/hangfix.c)."""
import unittest

import _hangfix


class ProcessSharedSiblingsTest(unittest.TestCase):
    def test_pshared_sibling_cycle(self):
        _hangfix.pshared_sibling_cycle()


if __name__ == "__main__":
    unittest.main()
