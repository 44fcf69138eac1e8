"""regrtest module that prints an AddressSanitizer report as text, as a test of a log parser
does: its pid (123) is no process of the run. It calls nothing of _asanext (c/sanitizer/asanext.c);
it sits beside its tests so that runs can mix the printed report with real ones."""
import unittest

PRINTED = """=================================================================
==123==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x7f0000001234 bp 0x7ffc00000000 sp 0x7ffc00000008
READ of size 4 at 0x602000000010 thread T0
    #0 0x7f0000001234 in parse_fixture /nonexistent/fixture.c:42:7
    #1 0x7f0000005678 in main /nonexistent/fixture.c:50:3

SUMMARY: AddressSanitizer: heap-use-after-free /nonexistent/fixture.c:42:7 in parse_fixture
==123==ABORTING
"""


class PrintedReportTest(unittest.TestCase):
    def test_prints_a_report(self):
        print(PRINTED)
