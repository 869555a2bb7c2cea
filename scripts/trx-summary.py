#!/usr/bin/env python3
"""Adds up the TRX files of a test run and prints 'N passed, N failed, N skipped'.

Exits 1 when a test failed, when no TRX file was found, or when no test ran."""
import glob
import os
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"


def main(folder: str) -> int:
    passed = failed = skipped = 0
    files = glob.glob(os.path.join(folder, "**", "*.trx"), recursive=True)
    for path in files:
        counters = ET.parse(path).getroot().find(f"{NS}ResultSummary/{NS}Counters")
        if counters is None:
            continue
        passed += int(counters.get("passed", 0))
        failed += int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) + int(counters.get("aborted", 0))
        # VSTest leaves notExecuted at 0 for ignored tests; they show only as total minus executed.
        not_run = int(counters.get("total", 0)) - int(counters.get("executed", 0))
        skipped += max(not_run, int(counters.get("notExecuted", 0))) + int(counters.get("inconclusive", 0))
    if not files:
        failed += 1
        print("no test results were written", file=sys.stderr)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
