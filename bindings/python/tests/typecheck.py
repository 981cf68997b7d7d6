#!/usr/bin/env python3
"""typecheck.py PACKAGE_DIR: mypy --strict on the package as built (the
type hints, VmConfig's keywords through Unpack, the extension's stub).
Exit 77 (skipped) when mypy is not installed."""
import sys

try:
    from mypy import api
except ImportError:
    print(f"skipped: mypy is not installed for {sys.executable} (apt-get install mypy, or make deps)")
    sys.exit(77)

# Unpack of a TypedDict for **kwargs is behind a flag in Debian's mypy 1.0
# (on by default later). No cache: nothing written beside the sources.
out, err, rc = api.run(["--strict", "--enable-incomplete-feature=Unpack", "--cache-dir=/dev/null",
                        "--python-version", f"{sys.version_info[0]}.{sys.version_info[1]}",
                        sys.argv[1]])
print(out, end="")
print(err, end="", file=sys.stderr)
sys.exit(rc)
