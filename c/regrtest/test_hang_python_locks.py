"""Two Python threads deadlock on two threading.Locks (leakcheck fixture)."""
import threading
import unittest


class PythonLockCycleTest(unittest.TestCase):
    def test_lock_cycle(self):
        a, b = threading.Lock(), threading.Lock()
        both_hold_one = threading.Barrier(2)

        def first_then_second():
            with a:
                both_hold_one.wait()
                b.acquire()

        def second_then_first():
            with b:
                both_hold_one.wait()
                a.acquire()

        threads = [threading.Thread(target=first_then_second), threading.Thread(target=second_then_first)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


if __name__ == "__main__":
    unittest.main()
