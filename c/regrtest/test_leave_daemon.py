"""Leaves a daemon behind: a grandchild in a session of its own (double fork, setsid), its
parent gone, that runs `sleep 4321` on and on (leakcheck fixture: processes left behind)."""
import os
import unittest


class LeaveDaemonTest(unittest.TestCase):
    def test_leave_daemon(self):
        pid = os.fork()
        if pid == 0:
            os.setsid()
            if os.fork() == 0:
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.execvp("sleep", ["sleep", "4321"])
            os._exit(0)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    unittest.main()
