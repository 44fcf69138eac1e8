"""Compiles code with a new name each call (leakcheck fixture). The compiler interns the name,
and on 3.12+ an interned identifier is immortal: it lives until shutdown by design, and
regrtest does not count it as a leak. Neither must leakcheck."""
import itertools
import unittest

counter = itertools.count()


class CompileTest(unittest.TestCase):
    def test_compile_new_names(self):
        compile("leakcheck_name_%d = 1" % next(counter), "<fixture>", "exec")


if __name__ == "__main__":
    unittest.main()
