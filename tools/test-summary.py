#!/usr/bin/env python3
"""Count the results of Meson test logs and print the closing line CI
reads: 'N passed, N failed, N skipped'. Exits non-zero when any test failed
or none ran.

  test-summary.py LOG.json[=N]...

A log named with =N should hold N tests; each one it lacks (a run cut
short, an emulated host that died) counts as failed."""
import json
import os
import sys

passed = failed = skipped = 0
for arg in sys.argv[1:]:
    log, _, expected = arg.partition("=")
    if not os.path.exists(log):
        print(f"{log}: no test log", file=sys.stderr)
        failed += int(expected) if expected else 1
        continue
    seen = 0
    with open(log) as f:
        for line in f:
            r = json.loads(line)
            seen += 1
            if r["result"] in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r["result"] == "SKIP":
                skipped += 1
            else:
                failed += 1
                print(f"FAILED: {log}: {r['name']}", file=sys.stderr)
    if expected and seen < int(expected):
        print(f"FAILED: {log}: {int(expected) - seen} of {expected} tests never reported",
              file=sys.stderr)
        failed += int(expected) - seen
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
