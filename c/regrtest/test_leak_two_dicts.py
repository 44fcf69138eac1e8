"""Pure Python code that keeps two new dicts per repetition (leakcheck fixture). Their key
tables come off the key-table free list too, and on 3.11 one of those was first allocated as a
copy (`clone_combined_dict_keys` under `PyDict_Copy`), of the `**kwargs` of regrtest's
`functools.partial(...)` call in `get_test_runner`: regrtest's line, which no report may name as
the leak. Every site is recycled on 3.11 (allocation site not attributable); from 3.13 on the
dicts' sites are the test's lines and both key tables' are marked free_list_reuse."""
import unittest

KEPT = []


class LeakTest(unittest.TestCase):
    def test_leak_two_dicts(self):
        KEPT.append({"a": 1})
        KEPT.append({"b": 2})


if __name__ == "__main__":
    unittest.main()
