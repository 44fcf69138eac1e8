"""Forks, execs and runs threads in every repetition, allocating in all three domains
(leakcheck fixture): the shim must survive all of it and find no leak."""
import os
import subprocess
import sys
import threading
import unittest

import _leakfix


class ForkExecThreadsTest(unittest.TestCase):
    def test_fork(self):
        pid = os.fork()
        if pid == 0:
            # The child allocates through the inherited hooks, then leaves at once.
            _leakfix.balanced()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)

    def test_exec(self):
        out = subprocess.run([sys.executable, "-c", "import _leakfix; _leakfix.balanced(); print('ok')"],
                             capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.path.dirname(_leakfix.__file__)})
        self.assertEqual(out.stdout, "ok\n", out.stderr)
        self.assertEqual(out.stderr, "")

    def test_threads(self):
        def work():
            for _ in range(200):
                _leakfix.balanced()
                [str(i) for i in range(50)]
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


if __name__ == "__main__":
    unittest.main()
