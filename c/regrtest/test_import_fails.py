"""A test module whose import raises (leakcheck fixture): regrtest reports the test as crashed
(`test test_import_fails crashed -- Traceback ...`) before its -R repetitions ever begin, so the
shim measures nothing for it, and in quiet mode (-q) that line is all that names it before the
summary."""
raise ImportError("leakcheck fixture: this module cannot be imported")
