"""Leaks one PyMem_RawMalloc block per repetition from a thread started after
threading.stack_size(32768), deep in a nested list's repr() (leakcheck fixture; see
test_small_stack_thread): the allocating thread has too little stack left for the shim to
unwind through code it has not met before, so the leak site's stack is cut, and the block is
counted all the same. DEPTH is well below where python3.11-dbg itself overflows that stack."""
import threading
import unittest

import _leakfix

DEPTH = 110


class Leaky:
    def __repr__(self):
        _leakfix.leak_raw()
        return "leaky"


def on_small_stack(target):
    threading.stack_size(32768)
    try:
        thread = threading.Thread(target=target)
        thread.start()
    finally:
        threading.stack_size(0)
    thread.join()


class LeakTest(unittest.TestCase):
    def test_leak_small_stack_thread(self):
        results = []

        def run():
            nested = Leaky()
            for _ in range(DEPTH):
                nested = [nested]
            results.append(repr(nested))

        on_small_stack(run)
        self.assertEqual(len(results[0]), 2 * DEPTH + len("leaky"))


if __name__ == "__main__":
    unittest.main()
