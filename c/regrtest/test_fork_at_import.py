"""Forks at its import, and the child returns from the import as the parent does: the child
goes on running regrtest (this test's -R repetitions and the tests after it), as a module-level
os.fork() whose child forgets os._exit does (leakcheck fixture). Parent and child meet at each
call of the test, so that they begin the next test together: the first of them to end removes
regrtest's working directory, which they share, and a test the other begins after that crashes
before its repetitions. The parent waits for the child when it exits."""
import atexit
import os
import shutil
import tempfile
import time
import unittest

_meeting = None
_role = None
calls = 0

if not os.environ.get("FORKED_AT_IMPORT"):
    os.environ["FORKED_AT_IMPORT"] = "1"  # once, should the module be imported again
    _meeting = tempfile.mkdtemp(prefix="fork_at_import")
    _child = os.fork()
    if _child:
        _role = "parent"

        def _wait_for_child(child=_child, meeting=_meeting):
            os.waitpid(child, 0)
            shutil.rmtree(meeting, ignore_errors=True)

        atexit.register(_wait_for_child)
    else:
        _role = "child"


class ForkAtImportTest(unittest.TestCase):
    def test_meet_the_other_process(self):
        global calls
        calls += 1
        if _meeting is None:
            return
        other = "child" if _role == "parent" else "parent"
        open(os.path.join(_meeting, f"{_role}.{calls}"), "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(_meeting, f"{other}.{calls}")) and time.monotonic() < deadline:
            time.sleep(0.01)


if __name__ == "__main__":
    unittest.main()
