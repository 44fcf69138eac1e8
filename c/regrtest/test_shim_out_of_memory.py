"""Many small live blocks, under an address-space limit (RLIMIT_AS, `ulimit -v`) that leaves
the test little more room than it needs: at import, a ballast takes all but HEADROOM of what the
limit allows. Without a limit it is an ordinary test.

The test itself fits in HEADROOM (it needs about 36 MiB); leakcheck's preload shim, which
remembers every live block during the repetitions (about as much again), does not, so its own
tables fail to grow (harness/tests/shim_out_of_memory.rs).
"""
import resource
import unittest

HEADROOM = 48 << 20
BLOCKS = 600_000


def vm_size():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) << 10
    raise RuntimeError("no VmSize in /proc/self/status")


_limit, _ = resource.getrlimit(resource.RLIMIT_AS)
ballast = None if _limit == resource.RLIM_INFINITY else bytearray(max(0, _limit - vm_size() - HEADROOM))


class ManySmallBlocks(unittest.TestCase):
    def test_many_small_blocks(self):
        keep = [object() for _ in range(BLOCKS)]
        self.assertEqual(len(keep), BLOCKS)
        del keep


if __name__ == "__main__":
    unittest.main()
