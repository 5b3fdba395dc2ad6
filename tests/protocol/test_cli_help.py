"""Every command of `postern` answers --help, and the command line itself is checked:
  - `postern --help` lists every command of cli/command_groups.hpp, exit 0;
  - `postern COMMAND --help` (and -h) prints a usage text naming that command, exit 0, nothing on
    stderr, without reading any main.cf (-c points nowhere);
  - an unknown command, an unknown option before it and a missing command: exit 2 with the usage
    on stderr; an unknown option after a command: exit 2 naming the option.
"""
import os
import re
import subprocess

from postern_harness import BIN_DIR, run_tests

POSTERN = os.path.join(BIN_DIR, "postern")
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def commands():
    with open(os.path.join(SOURCE, "cli", "command_groups.hpp"), encoding="utf-8") as f:
        text = f.read()
    names = re.findall(r'^\s*\{"([a-z]+)", "', text, re.M)
    assert len(names) >= 10, names
    return names


def run(*args):
    return subprocess.run([POSTERN, "-c", "/nonexistent", *args], capture_output=True, text=True,
                          timeout=30)


def test_top_level_help_lists_every_command():
    done = run("--help")
    assert done.returncode == 0, done
    for name in commands():
        assert re.search(rf"^  {name} ", done.stdout, re.M), (name, done.stdout)


def test_each_command_answers_help():
    for name in commands():
        for flag in ("--help", "-h"):
            done = run(name, flag)
            assert done.returncode == 0, (name, flag, done)
            assert done.stderr == "", (name, done.stderr)
            assert re.search(rf"^usage: postern .*\b{name}\b", done.stdout, re.M), (name, done.stdout)


def test_usage_errors():
    for args in (["no-such-command"], ["--bogus", "queue", "list"], []):
        done = run(*args)
        assert done.returncode == 2, (args, done)
        assert "usage: postern" in done.stderr, (args, done.stderr)
    for name in commands():
        done = run(name, "--no-such-option")
        assert done.returncode == 2, (name, done)
        assert "--no-such-option" in done.stderr, (name, done.stderr)


if __name__ == "__main__":
    run_tests([test_top_level_help_lists_every_command, test_each_command_answers_help,
               test_usage_errors])
