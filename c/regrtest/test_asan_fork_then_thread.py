"""bpo-45200 (gh-89363), for real: threads busy creating threads while the main thread forks,
and each child starts a thread at once. On an ASAN build with gcc's libasan, a libasan lock a
parent thread held at fork time stays locked in the child and the child's new thread sleeps on
it forever. leakcheck sees the stuck child, says why (known-signature bpo-45200) and ends it;
the test then goes on. Elsewhere it simply passes.

LEAKCHECK_FORKS sets the number of forks (default 100).
"""
import os
import threading
import unittest


class ForkThenThread(unittest.TestCase):
    def test_fork_then_thread(self):
        stop = threading.Event()

        def churn():
            while not stop.is_set():
                t = threading.Thread(target=lambda: None)
                t.start()
                t.join()

        workers = [threading.Thread(target=churn) for _ in range(4)]
        for w in workers:
            w.start()
        ended_by_signal = 0
        try:
            for _ in range(int(os.environ.get("LEAKCHECK_FORKS", "100"))):
                pid = os.fork()
                if pid == 0:
                    t = threading.Thread(target=lambda: None)
                    t.start()
                    t.join()
                    os._exit(0)
                _, status = os.waitpid(pid, 0)
                ended_by_signal += os.WIFSIGNALED(status)
        finally:
            stop.set()
            for w in workers:
                w.join()
        print(f"children ended by a signal: {ended_by_signal}")


if __name__ == "__main__":
    unittest.main()
