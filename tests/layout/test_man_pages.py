#!/usr/bin/env python3
"""Every program and file format has a man page, and the pages hold together:
  - each executable a process folder defines (add_executable in */CMakeLists.txt, not fuzz/ or
    tests/) has man/man1/NAME.1 or man/man8/NAME.8, and so do sendmail's other names that its
    CMakeLists.txt links (mailq, newaliases; rmail and runq are described in sendmail(1), which
    names them in its NAME line);
  - every page that another page refers to as postern-*(N), postern(N), sendmail(1), mailq(1),
    newaliases(1) or aliases(5) exists;
  - postern(8), the page `man postern` shows, lists every page in man/ under SEE ALSO;
  - each page renders with man(1) without a groff warning (lintian's check; "cannot adjust line"
    and "can't break line", which only say a line is long, are let through as lintian does).
It fails with one line per problem."""
import glob
import os
import re
import shutil
import subprocess
import sys

SOURCE = os.environ.get("POSTERN_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAN = os.path.join(SOURCE, "man")
ALIAS_PAGES_IN = {"rmail": "sendmail.1", "runq": "sendmail.1"}
HARMLESS = ("cannot adjust line", "can't break line")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def pages():
    """{"postern.8": path, ...} for every page in man/man*/."""
    return {os.path.basename(p): p for p in glob.glob(os.path.join(MAN, "man*", "*.[1-8]"))}


def programs():
    names = set()
    for cmake in glob.glob(os.path.join(SOURCE, "*", "CMakeLists.txt")):
        folder = os.path.basename(os.path.dirname(cmake))
        if folder in ("fuzz", "tests", "bench"):
            continue
        text = read(cmake)
        names.update(re.findall(r"add_executable\(\s*([\w-]+)\s", text))
        for aliases in re.findall(r"foreach\(alias ([\w ]+)\)", text):
            names.update(aliases.split())
    return names


def references(text):
    """(name, section) of every .BR name (N) / \\fBname\\fR(N) reference to our pages."""
    found = set(re.findall(r"^\.BR?\s+([\w.-]+)\s+\((\d)\)", text, re.M))
    found |= set(re.findall(r"\\fB([\w.-]+)\\fR\((\d)\)", text))
    ours = re.compile(r"^(postern[\w.-]*|sendmail|mailq|newaliases|aliases)$")
    return {(name, section) for name, section in found if ours.match(name)}


def main():
    problems = []
    have = pages()
    for program in sorted(programs()):
        if program in ALIAS_PAGES_IN:
            page = ALIAS_PAGES_IN[program]
            if program not in read(have[page]).split(r"\-", 1)[0]:
                problems.append(f"{page} does not name {program} in its NAME line")
            continue
        if f"{program}.1" not in have and f"{program}.8" not in have:
            problems.append(f"program {program} has no man/man1/{program}.1 or man/man8/{program}.8")
    for page, path in sorted(have.items()):
        for name, section in sorted(references(read(path))):
            if f"{name}.{section}" not in have:
                problems.append(f"{page} refers to {name}({section}), which is not in man/")
    see_also = read(have["postern.8"]).split(".SH SEE ALSO", 1)
    if len(see_also) != 2:
        problems.append("postern.8 has no SEE ALSO section")
    else:
        listed = {f"{name}.{section}" for name, section in references(see_also[1])}
        for page in sorted(set(have) - listed - {"postern.8"}):
            problems.append(f"postern.8's SEE ALSO does not list {page}")
    if shutil.which("man"):
        env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
        for page, path in sorted(have.items()):
            done = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", path], env=env,
                                  capture_output=True, text=True, timeout=60)
            for line in done.stderr.splitlines():
                if not any(harmless in line for harmless in HARMLESS):
                    problems.append(f"{page}: {line}")
    else:
        print("man(1) is not installed: rendering not checked")
    for problem in problems:
        print(problem)
    print(f"{len(have)} pages, {len(programs())} programs: "
          f"{'ok' if not problems else str(len(problems)) + ' problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
