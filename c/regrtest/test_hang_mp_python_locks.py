"""A multiprocessing child (forked: it inherits regrtest's faulthandler registration for
SIGUSR1) whose two threads deadlock on two threading.Locks, while the test joins it
(leakcheck fixture). Python locks record no owner: only the hang timeout reports it."""
import multiprocessing
import threading
import unittest


def deadlock_two_threads():
    a, b = threading.Lock(), threading.Lock()
    both_hold_one = threading.Barrier(2)

    def child_first_then_second():
        with a:
            both_hold_one.wait()
            b.acquire()

    def child_second_then_first():
        with b:
            both_hold_one.wait()
            a.acquire()

    threads = [threading.Thread(target=child_first_then_second), threading.Thread(target=child_second_then_first)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class ForkedChildDeadlockTest(unittest.TestCase):
    def test_join_deadlocked_child(self):
        child = multiprocessing.get_context("fork").Process(target=deadlock_two_threads)
        child.start()
        child.join()


if __name__ == "__main__":
    unittest.main()
