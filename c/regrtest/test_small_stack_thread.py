"""A thread started after threading.stack_size(32768), Python's minimum, repr()s a nested list
(leakcheck fixture): its allocations go through code that no earlier allocation of the process
ran (the thread's start, list_repr's recursion), whose unwind rules the shim evaluates on that
thread's stack. That took 26 KiB of it, and the process died of SIGSEGV under leakcheck alone.
DEPTH is well below where python3.11-dbg itself overflows that stack (about 205)."""
import threading
import unittest

DEPTH = 150


def on_small_stack(target):
    threading.stack_size(32768)
    try:
        thread = threading.Thread(target=target)
        thread.start()
    finally:
        threading.stack_size(0)
    thread.join()


class SmallStackTest(unittest.TestCase):
    def test_small_stack_thread(self):
        results = []

        def run():
            nested = []
            for _ in range(DEPTH):
                nested = [nested]
            results.append(repr(nested))

        on_small_stack(run)
        self.assertEqual(len(results[0]), 2 * DEPTH + 2)


if __name__ == "__main__":
    unittest.main()
