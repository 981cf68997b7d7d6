#!/usr/bin/env python3
"""readme_code.py README HEADER_DIR: every ```c block of README.md compiles
against the current header (inside a main, as statements), so that the
README's example cannot drift from the API it shows."""
import os
import re
import subprocess
import sys
import tempfile


def main():
    readme, include = sys.argv[1], sys.argv[2]
    blocks = re.findall(r"```c\n(.*?)```", open(readme).read(), re.S)
    if not blocks:
        print("FAIL: README.md has no ```c block")
        return 1
    failed = 0
    for i, code in enumerate(blocks):
        lines = code.splitlines()
        head = [l for l in lines if l.startswith("#include")]
        body = [l for l in lines if not l.startswith("#include")]
        src = "#include <stdio.h>\n" + "\n".join(head) + "\nint main(void)\n{\n" + \
              "\n".join(body) + "\nreturn 0;\n}\n"
        with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as f:
            f.write(src)
        p = subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-Wno-unused-result",
                            "-fsyntax-only", "-I", include, f.name],
                           capture_output=True, text=True)
        os.unlink(f.name)
        if p.returncode:
            print(f"FAIL: README.md's C block {i + 1} does not compile:\n{p.stderr}")
            failed = 1
        else:
            print(f"ok: C block {i + 1}")
    return failed


sys.exit(main())
