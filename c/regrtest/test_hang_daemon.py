"""Starts a daemon (fork, setsid, fork, exec) that deadlocks on two mutexes, and returns: the
daemon, re-parented to leakcheck (the run's subreaper), is outside regrtest's process tree, and
its hang is found while another test runs (leakcheck fixture; see c/hangfix.c)."""
import os
import sys
import unittest


class DaemonTest(unittest.TestCase):
    def test_start_deadlocking_daemon(self):
        here = os.path.dirname(os.path.abspath(__file__))
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                if os.fork() == 0:
                    env = dict(os.environ, PYTHONPATH=here)
                    code = "import _hangfix; _hangfix.mutex_cycle()"
                    os.execve(sys.executable, [sys.executable, "-c", code], env)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    unittest.main()
