"""etc/bash-completion/postern: run in a real bash, the completion function called with
COMP_WORDS/COMP_CWORD as bash sets them, COMPREPLY checked: commands, subcommands, options,
setup's --mode values (also as --mode=), queue IDs from the queue folders of the -c
configuration (with the built postern on PATH and without any), files after why --log. And the
command list stays in step with cli/command_groups.hpp: every command there is completed, and
nothing else; and every option a command's --help names is offered for that command.
"""
import os
import re
import shutil
import subprocess
import tempfile

from postern_harness import BIN_DIR, SOURCE_DIR, run_tests

COMPLETION = os.path.join(SOURCE_DIR, "etc", "bash-completion", "postern")
COMMAND_GROUPS = os.path.join(SOURCE_DIR, "cli", "command_groups.hpp")
DEFERRED = ["HOV3AAAAAA000001", "HOV3AAAAAA000002"]
HELD = ["HOV3BBBBBB000001"]


def complete(line, path=None, config=None):
    """COMPREPLY for the command line `line` with the cursor at its end (a trailing space means
    a new, empty word), as a sorted list."""
    words = line.split(" ")
    if config:
        words[1:1] = ["-c", config]
    # bash splits "--mode=sm" at '=' into "--mode" "=" "sm".
    split = []
    for word in words:
        if "=" in word and word.startswith("--"):
            name, value = word.split("=", 1)
            split += [name, "="] + ([value] if value else [""])
        else:
            split.append(word)
    if split[-1] == "" and len(split) > 1 and split[-2] == "=":
        split.pop()  # "--mode=": the cursor is on "="
    array = " ".join("'" + w.replace("'", "'\\''") + "'" for w in split)
    script = (f"source '{COMPLETION}' || exit 9\n"
              f"COMP_WORDS=({array}); COMP_CWORD={len(split) - 1}\n"
              "_postern; status=$?\nprintf '%s\\n' \"${COMPREPLY[@]}\"\nexit $status\n")
    env = dict(os.environ, PATH=path if path is not None else os.environ["PATH"])
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                          text=True, timeout=30, env=env)
    assert done.returncode == 0, (line, done.returncode, done.stderr)
    assert done.stderr == "", (line, done.stderr)  # quiet, whatever happens
    return sorted(w for w in done.stdout.split("\n") if w)


def commands_in_table():
    with open(COMMAND_GROUPS) as f:
        return re.findall(r'^\s*\{"([a-z-]+)",\s*"', f.read(), re.MULTILINE)


def test_every_command_of_the_table_is_completed():
    table = commands_in_table()
    assert len(table) >= 11, table
    assert complete("postern ") == sorted(table), (complete("postern "), table)
    for command in table:
        assert command in complete(f"postern {command[:2]}"), command


def test_subcommands_and_options():
    assert complete("postern qu") == ["queue"]
    assert complete("postern queue ") == sorted(
        ["list", "show", "flush", "delete", "hold", "release", "requeue"])
    assert complete("postern queue list --") == ["--help", "--json"]
    assert complete("postern queue delete --") == ["--all", "--from", "--help", "--to"]
    assert complete("postern queue flush --") == ["--domain", "--help"]
    assert complete("postern config ") == ["check", "set", "show"]
    assert complete("postern user ") == ["add", "del", "list", "passwd"]
    assert complete("postern alias ") == ["add", "del", "list"]
    assert complete("postern domain l") == ["list"]
    assert complete("postern map ") == ["build", "query"]
    assert complete("postern aliases ") == ["build"]
    assert complete("postern log ") == ["reopen"]
    assert complete("postern status --") == ["--help", "--json"]
    assert complete("postern why --") == ["--help", "--json", "--log"]
    assert complete("postern dkim ") == ["keygen", "list", "remove", "rotate"]
    assert complete("postern dkim keygen example.test --") == [
        "--bits", "--force", "--help", "--selector", "--type"]
    assert complete("postern dkim keygen example.test --type ") == ["ed25519", "rsa"]
    assert complete("postern dkim rotate example.test --") == ["--bits", "--help", "--type"]
    assert complete("postern dkim remove example.test s1 --") == ["--force", "--help"]
    assert complete("postern dns --") == ["--help", "--json"]
    assert complete("postern dns example.test --") == ["--help", "--json"]
    assert complete("postern setup --mode ") == ["internet", "local", "satellite", "smarthost"]
    assert complete("postern setup --mode s") == ["satellite", "smarthost"]
    assert complete("postern setup --mode=") == ["internet", "local", "satellite", "smarthost"]
    assert complete("postern setup --mode=sa") == ["satellite"]
    assert "--relayhost" in complete("postern setup --")
    assert complete("postern -") == ["--help", "-c", "-h"]
    assert complete("postern nosuch ") == []


def test_queue_ids_and_files():
    root = tempfile.mkdtemp(prefix="postern-completion-")
    try:
        etc = os.path.join(root, "etc")
        spool = os.path.join(root, "spool")
        os.makedirs(etc)
        for folder, ids in (("deferred", DEFERRED), ("hold", HELD), ("incoming", []),
                            ("active", [])):
            os.makedirs(os.path.join(spool, folder))
            for queue_id in ids:
                open(os.path.join(spool, folder, queue_id), "w").close()
        open(os.path.join(spool, "deferred", ".HOV3TEMP.tmp"), "w").close()
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(f"# test\nqueue_directory = {spool}\n")
        with_postern = BIN_DIR + ":" + os.environ["PATH"]
        no_postern = "/usr/bin:/bin"
        for path in (with_postern, no_postern):
            everything = sorted(DEFERRED + HELD)
            assert complete("postern queue show ", path, etc) == everything, path
            assert complete("postern queue release ", path, etc) == HELD, path
            assert complete("postern queue hold ", path, etc) == DEFERRED, path
            assert complete("postern queue delete HOV3A", path, etc) == DEFERRED, path
            assert complete("postern why ", path, etc) == everything, path
            assert complete("postern queue requeue HOV3B", path, etc) == [], path
        # The -c directory may itself be completed, and a missing queue is no error.
        assert complete(f"postern -c {root}/e") == [etc]
        assert complete("postern queue show ", config=os.path.join(root, "none")) == []
        log = os.path.join(root, "mail.log")
        open(log, "w").close()
        assert complete(f"postern why HOV3AAAAAA000001 --log {root}/ma") == [log]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_every_option_of_each_help_is_completed():
    """The options in `postern COMMAND --help` (the built program's own usage text) against
    what the completion offers after `postern COMMAND -` and `postern COMMAND SUB -` for each of
    its subcommands: an option added to a command and not to the completion fails here."""
    postern = os.path.join(BIN_DIR, "postern")
    for command in commands_in_table():
        done = subprocess.run([postern, command, "--help"], capture_output=True, text=True,
                              timeout=30)
        assert done.returncode == 0, (command, done)
        usage = done.stdout.replace("postern-master -t", "")  # master's option, not ours
        named = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b", usage)) - {"-c"}
        offered = set(complete(f"postern {command} -"))
        for sub in complete(f"postern {command} "):
            if not sub.startswith("-") and re.fullmatch(r"[a-z]+", sub):
                offered |= set(complete(f"postern {command} {sub} -"))
        assert named <= offered, (command, sorted(named - offered))


if __name__ == "__main__":
    run_tests([
        test_every_command_of_the_table_is_completed,
        test_subcommands_and_options,
        test_queue_ids_and_files,
        test_every_option_of_each_help_is_completed,
    ])
