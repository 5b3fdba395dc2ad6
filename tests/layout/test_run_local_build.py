#!/usr/bin/env python3
"""scripts/run-local builds only what it runs, in the build/ that scripts/test uses, alike:
  - its build step is `cmake --build build ... --target postern-programs` (no plain build, which
    would compile every unit test first: most of a first run's minutes);
  - run-local and scripts/test both configure build/ with scripts/build-options, so neither
    makes the other recompile it;
  - the postern-programs target (CMakeLists.txt) needs every program run-local starts (master,
    each command its master.cf names, and the postern command) and no test: read from CMake's
    own dependency graph (--graphviz) of a configure in a temporary directory (a few seconds,
    nothing is compiled).
It fails with one line per problem."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SOURCE = os.environ.get("POSTERN_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(path):
    with open(os.path.join(SOURCE, path), encoding="utf-8") as f:
        return f.read()


def code_lines(text):
    """The script's lines without comments and blank lines, continuations joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line.strip() for line in joined.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def run_local_programs(text):
    """postern-<command> for each command of the master.cf that run-local writes."""
    master_cf = re.search(r'cat >"\$etc/master\.cf" <<EOF\n(.*?)\nEOF\n', text, re.S)
    assert master_cf, "run-local writes no master.cf heredoc"
    commands = set()
    for line in master_cf.group(1).splitlines():
        words = line.split()
        if len(words) >= 8 and not line.startswith("#"):
            commands.add(words[7])
    return {f"postern-{command}" for command in commands} | {"postern-master", "postern"}


def dependency_graph(build_dir):
    """{target: set(direct dependencies)} from a graphviz file of a fresh configure."""
    with open(os.path.join(build_dir, "CMakeGraphVizOptions.cmake"), "w") as f:
        f.write("set(GRAPHVIZ_CUSTOM_TARGETS TRUE)\n")
    dot = os.path.join(build_dir, "targets.dot")
    result = subprocess.run(["cmake", "-S", SOURCE, "-B", build_dir, f"--graphviz={dot}"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    edges = {}
    with open(dot) as f:
        for match in re.finditer(r"// (\S+) -> (\S+)", f.read()):
            edges.setdefault(match.group(1), set()).add(match.group(2))
    return edges


def closure(edges, start):
    seen, todo = set(), [start]
    while todo:
        target = todo.pop()
        for dependency in edges.get(target, ()):
            if dependency not in seen:
                seen.add(dependency)
                todo.append(dependency)
    return seen


def main():
    problems = []
    run_local = read("scripts/run-local")
    lines = code_lines(run_local)
    builds = [line for line in lines if line.startswith("cmake --build")]
    if not builds:
        problems.append("scripts/run-local: no 'cmake --build' step")
    for line in builds:
        if "--target postern-programs" not in line:
            problems.append(f"scripts/run-local builds more than the programs: {line}")
    configures = [line for line in lines if line.startswith("cmake -S")]
    if not configures or any('"${build_options[@]}"' not in line for line in configures):
        problems.append(f"scripts/run-local: configure without scripts/build-options: {configures}")
    if "source scripts/build-options" not in lines:
        problems.append("scripts/run-local does not source scripts/build-options")
    test_lines = code_lines(read("scripts/test"))
    if 'source "$repo/scripts/build-options"' not in test_lines or not any(
            line.startswith('if configure_and_build build "${build_options[@]}"')
            for line in test_lines):
        problems.append("scripts/test does not configure build/ with scripts/build-options")

    build_dir = tempfile.mkdtemp(prefix="postern-graph-")
    try:
        edges = dependency_graph(build_dir)
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    if "postern-programs" not in edges:
        problems.append("CMake has no postern-programs target")
    needed = closure(edges, "postern-programs")
    for program in sorted(run_local_programs(run_local)):
        if program not in needed:
            problems.append(f"postern-programs does not build {program}, which run-local starts")
    for target in sorted(needed):
        if target.endswith(("_test", "_fuzz")) or target.startswith("GTest"):
            problems.append(f"postern-programs builds {target}, a test")

    for problem in problems:
        print(problem)
    print(f"{0 if problems else 1} passed, {1 if problems else 0} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
