#!/usr/bin/env python3
"""lib/ by concern: each lib/<folder>/README.md says on a 'May use:' line which other lib folders
its code may include. This test reads those lines and checks, over the source tree:
  - every '#include "lib/X/..."' in lib/<folder>/ names <folder> itself or a folder it may use;
  - the declared uses have no cycle (dependencies run one way);
  - nothing in lib/ includes a daemon's header, and no source sits loose in lib/;
  - tests/lib/<folder>/x_test.cpp tests lib/<folder>/x.*, and fuzz/<folder>/ names a lib folder
    or a daemon folder.
It reads files only; it fails with one line per violation."""
import os
import re
import sys

SOURCE = os.environ.get("POSTERN_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(SOURCE, "lib")
DAEMONS = {"master", "smtpd", "submission", "qmgr", "relay", "delivery", "imapd", "cli",
           "sendmail", "postdrop", "pickup", "local", "authmilter"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_uses(folder):
    readme = os.path.join(LIB, folder, "README.md")
    if not os.path.isfile(readme):
        return None
    for line in open(readme, encoding="utf-8"):
        if line.startswith("May use:"):
            text = re.sub(r"\(.*?\)", "", line[len("May use:"):])
            return {word.strip() for word in text.split(",") if word.strip()}
    return None


def sources(top):
    for directory, _, names in os.walk(top):
        for name in names:
            if name.endswith((".cpp", ".hpp", ".h")):
                yield os.path.join(directory, name)


def main():
    problems = []
    folders = sorted(d for d in os.listdir(LIB) if os.path.isdir(os.path.join(LIB, d)))
    uses = {}
    for folder in folders:
        declared = read_uses(folder)
        if declared is None:
            problems.append(f"lib/{folder}/README.md: no 'May use:' line")
            declared = set()
        unknown = declared - set(folders)
        if unknown:
            problems.append(f"lib/{folder}/README.md: may use unknown folders {sorted(unknown)}")
        uses[folder] = declared & set(folders)
    for name in os.listdir(LIB):
        if name.endswith((".cpp", ".hpp", ".h")):
            problems.append(f"lib/{name}: loose in lib/, outside a concern folder")

    # No cycle among the declared uses (depth-first search with colours).
    state = {}

    def visit(folder, path):
        state[folder] = "open"
        for used in sorted(uses[folder]):
            if state.get(used) == "open":
                problems.append("cycle in lib/ uses: " + " -> ".join(path + [used]))
            elif used not in state:
                visit(used, path + [used])
        state[folder] = "done"

    for folder in folders:
        if folder not in state:
            visit(folder, [folder])

    checked = 0
    for folder in folders:
        for path in sources(os.path.join(LIB, folder)):
            relative = os.path.relpath(path, SOURCE)
            for included in INCLUDE.findall(open(path, encoding="utf-8").read()):
                checked += 1
                parts = included.split("/")
                if parts[0] in DAEMONS:
                    problems.append(f"{relative}: includes daemon header {included}")
                elif parts[0] != "lib" or len(parts) != 3:
                    problems.append(f"{relative}: include {included} is not lib/<folder>/<file>")
                elif parts[1] != folder and parts[1] not in uses[folder]:
                    problems.append(f"{relative}: includes {included}, but lib/{folder} may "
                                    f"use only {sorted(uses[folder]) or 'no other folder'}")

    # tests/lib and fuzz mirror the folders.
    tests_lib = os.path.join(SOURCE, "tests", "lib")
    for path in sources(tests_lib):
        relative = os.path.relpath(path, tests_lib)
        parts = relative.split(os.sep)
        if not path.endswith("_test.cpp"):
            continue
        if len(parts) != 2:
            problems.append(f"tests/lib/{relative}: not in a folder that mirrors lib/")
            continue
        stem = parts[1][: -len("_test.cpp")]
        if not any(os.path.exists(os.path.join(LIB, parts[0], stem + ext)) for ext in (".cpp", ".hpp")):
            problems.append(f"tests/lib/{relative}: no lib/{parts[0]}/{stem}.cpp or .hpp")
    fuzz = os.path.join(SOURCE, "fuzz")
    for path in sources(fuzz):
        relative = os.path.relpath(path, fuzz)
        parts = relative.split(os.sep)
        if len(parts) != 2 or not (parts[0] in folders or parts[0] in DAEMONS):
            problems.append(f"fuzz/{relative}: not in fuzz/<lib folder or daemon>/")

    for problem in problems:
        print(problem)
    print(f"{len(folders)} lib folders, {checked} includes checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
