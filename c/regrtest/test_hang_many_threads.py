"""More Python threads than faulthandler dumps (100), all blocked: the test thread joins threads
waiting for a lock it holds (leakcheck fixture). faulthandler writes the newest threads' stacks
first, so the test thread's is the one it leaves out."""
import threading
import unittest

THREADS = 120


class ManyThreads(unittest.TestCase):
    def test_many_blocked_threads(self):
        lock = threading.Lock()
        lock.acquire()
        threads = [threading.Thread(target=lock.acquire) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


if __name__ == "__main__":
    unittest.main()
