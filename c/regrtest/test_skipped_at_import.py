"""Skips itself at import, as a test of a missing platform feature does (leakcheck fixture)."""
import unittest

raise unittest.SkipTest("not on this platform")
