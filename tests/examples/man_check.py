#!/usr/bin/env python3
"""The man pages against what they document.

man_check.py CASE DOC_DIR [SM HEADER]
  lint       supermachine.1 and .3 parse without a warning: mandoc -T lint
             (every level) and groff -man -ww say nothing
  commands   every command `SM --help` lists has a subsection in COMMANDS
             of supermachine.1 that names each option its --help shows, and
             the page has no subsection for a command SM lacks
  functions  every function, type, constant and struct member HEADER makes
             public is named in supermachine.3, each function in SYNOPSIS
             and in the text below it
"""
import os, re, subprocess, sys


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def plain(roff):
    """Roff source as the words a reader sees (near enough to search)."""
    text = re.sub(r'^\.\\".*$', "", roff, flags=re.M)
    text = re.sub(r"\\f[BIRP]|\\f\[[A-Z]*\]|\\&|\\e", "", text)
    text = text.replace("\\-", "-").replace('"', " ")
    return re.sub(r"^\.[A-Za-z]+ ?", "", text, flags=re.M)


def case_lint(doc):
    for page in ("supermachine.1", "supermachine.3"):
        path = os.path.join(doc, page)
        m = subprocess.run(["mandoc", "-T", "lint", path], capture_output=True, text=True)
        if m.returncode != 0 or m.stdout or m.stderr:
            fail(f"mandoc -T lint {page} (status {m.returncode}):\n{m.stdout}{m.stderr}")
        g = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path],
                           capture_output=True, text=True)
        if g.returncode != 0 or g.stderr:
            fail(f"groff -man -ww {page} (status {g.returncode}):\n{g.stderr}")


def help_of(sm, *args):
    p = subprocess.run([sm, *args, "--help"], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        fail(f"{' '.join(['supermachine', *args])} --help: status {p.returncode}\n{p.stderr}")
    return p.stdout


def commands_of(sm):
    text = help_of(sm)
    block = text.split("Commands:", 1)[1].split("\n\n", 1)[0]
    names = [l.split()[0] for l in block.splitlines() if l.strip()]
    if not names:
        fail(f"no commands in supermachine --help:\n{text}")
    return names


def options_of(help_text):
    """Each option a --help shows: -x and --long, from its usage line
    ("[-f]", "[-t SECONDS]") and its option lines."""
    usage = help_text.split("\n", 1)[0]
    opts = set(re.findall(r"\[(--[a-z0-9-]+|-[A-Za-z0-9])\b", usage))
    for line in help_text.split("Options:", 1)[-1].splitlines():
        m = re.match(r"\s+((?:-[A-Za-z0-9](?:, )?)?(?:--[a-z0-9-]+)?)", line)
        if m and m.group(1):
            opts.update(re.findall(r"--[a-z0-9-]+|-[A-Za-z0-9]\b", m.group(1)))
    return opts


def subsections(page):
    """COMMANDS' subsections: name -> their text."""
    body = page.split("\n.SH COMMANDS", 1)[1]
    body = re.split(r"^\.SH ", body, maxsplit=1, flags=re.M)[0]
    parts = re.split(r"^\.SS +\"?([^\"\n]+)\"?\n", body, flags=re.M)
    return {parts[i].strip(): plain(parts[i + 1]) for i in range(1, len(parts), 2)}


def case_commands(doc, sm):
    page = open(os.path.join(doc, "supermachine.1")).read()
    sections = subsections(page)
    names = commands_of(sm)
    problems = []
    for name in names:
        if name not in sections:
            problems.append(f"'{name}' has no '.SS {name}' under COMMANDS")
            continue
        for opt in sorted(options_of(help_of(sm, name))):
            if not re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", sections[name]):
                problems.append(f"'{name}': option {opt} of its --help is not documented")
    for extra in sorted(set(sections) - set(names)):
        problems.append(f"'.SS {extra}' documents a command supermachine does not have")
    if problems:
        fail("supermachine.1 is out of date:\n  " + "\n  ".join(problems))


def public_names(header):
    src = re.sub(r"/\*.*?\*/", "", open(header).read(), flags=re.S)
    funcs = [f for f in re.findall(r"SM_API[^;(]*?\b(sm_\w+)\s*\(", src)
             if not f.startswith("sm__")]
    types = re.findall(r"typedef\s+(?:struct|enum)\s+(sm_\w+)", src)
    consts = re.findall(r"^\s*(SM_[A-Z_]+)\s*(?:=|,)", src, flags=re.M)
    consts += [c for c in re.findall(r"#define\s+(SM_[A-Z_]+)", src)
               if c not in ("SM_H", "SM_API") and not c.startswith(("SM_VERSION", "SM__"))]
    members = set()
    for body in re.findall(r"typedef\s+struct\s+sm_\w+\s*\{(.*?)\}", src, flags=re.S):
        for decl in body.split(";"):
            decl = re.sub(r"\[[^\]]*\]", "", decl).strip()
            if not decl:
                continue
            m = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
            if m:
                members.add(m.group(1))
                continue
            for part in decl.split(","):
                members.add(re.findall(r"\w+", part)[-1])
    if not funcs or not types or not members:
        fail(f"nothing public found in {header}: the parser needs a look")
    return funcs, types, consts, sorted(members)


def case_functions(doc, header):
    page = open(os.path.join(doc, "supermachine.3")).read()
    synopsis, _, rest = page.partition("\n.SH DESCRIPTION")
    text, synopsis = plain(rest), plain(synopsis)
    funcs, types, consts, members = public_names(header)
    problems = []
    word = lambda w, t: re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", t)
    for f in funcs:
        if not re.search(r"\b" + f + r"\(", synopsis):
            problems.append(f"{f}() is not in SYNOPSIS")
        if not word(f, text):
            problems.append(f"{f}() is not described")
    for what, names in (("type", types), ("constant", consts), ("struct member", members)):
        problems += [f"{what} {n} is not mentioned" for n in names if not word(n, text)]
    if problems:
        fail("supermachine.3 is out of date with " + header + ":\n  " + "\n  ".join(problems))


def main():
    case, doc = sys.argv[1], sys.argv[2]
    if case == "lint":
        case_lint(doc)
    elif case == "commands":
        case_commands(doc, sys.argv[3])
    elif case == "functions":
        case_functions(doc, sys.argv[3])
    else:
        fail(f"unknown case {case}")
    print("ok:", case)


if __name__ == "__main__":
    main()
