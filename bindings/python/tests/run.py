#!/usr/bin/env python3
"""run.py TEST_FILE...: pytest on these files, for meson. Exit 77 (skipped)
when pytest is missing, or when every test skipped (the registry tools
missing, say), so that meson shows a skip and not a pass."""
import sys

try:
    import pytest
except ImportError:
    print(f"skipped: pytest is not installed for {sys.executable} "
          "(apt-get install python3-pytest, or make deps)")
    sys.exit(77)


class Outcomes:
    def __init__(self):
        self.counts = {}

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            self.counts[report.outcome] = self.counts.get(report.outcome, 0) + 1


outcomes = Outcomes()
# No cache in the source tree; -rs lists why tests skipped; -s lets the
# timings the tests print reach the log.
rc = pytest.main(["-p", "no:cacheprovider", "-v", "-rs", "-s", *sys.argv[1:]], plugins=[outcomes])
if rc == 0 and not outcomes.counts.get("passed") and outcomes.counts.get("skipped"):
    sys.exit(77)
sys.exit(77 if rc == pytest.ExitCode.NO_TESTS_COLLECTED else int(rc))
