#!/usr/bin/env python3
"""supermachine.h as embedders compile it: as C99 and as C++11, with every
warning GCC's -Wall -Wextra -pedantic gives made an error, and every
SM_..._INIT macro used (in C++ before C++20 they must not rely on
designated initializers). Usage: header_compiles.py INCLUDE_DIR."""
import os
import re
import subprocess
import sys
import tempfile

inc = sys.argv[1]
header = open(os.path.join(inc, "supermachine.h")).read()
macros = re.findall(r"#define (SM_[A-Z0-9_]+_INIT) SM__INIT\((\w+)\)", header)
if len(macros) < 20:
    sys.exit(f"found {len(macros)} SM_..._INIT macros in supermachine.h: the pattern is stale")

body = "\n".join(f"    {t} v{i} = {m}; n += v{i}.size == sizeof v{i};"
                 for i, (m, t) in enumerate(macros))
src = f"""#include "supermachine.h"
int main(void)
{{
    unsigned n = 0;
{body}
    return n == {len(macros)} ? 0 : 1;
}}
"""
builds = [
    (os.environ.get("CC", "cc"), "c", ["-std=c99"]),
    (os.environ.get("CXX", "c++"), "cc", ["-std=c++11"]),
]
failed = False
with tempfile.TemporaryDirectory() as d:
    for compiler, ext, std in builds:
        path, exe = os.path.join(d, f"t.{ext}"), os.path.join(d, f"t-{ext}")
        with open(path, "w") as f:
            f.write(src)
        cmd = [compiler, *std, "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", inc,
               path, "-o", exe]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL: {' '.join(cmd)}\n{r.stderr}")
            failed = True
            continue
        if subprocess.run([exe]).returncode != 0:
            print(f"FAIL: {ext}: an SM_..._INIT macro did not set size")
            failed = True
            continue
        print(f"ok: {compiler} {std[0]}: {len(macros)} INIT macros, no warning")
sys.exit(1 if failed else 0)
