"""What an ordinary local user can and cannot do with sendmail(1) and the setgid
postern-postdrop, as on an installed system: alice cannot read bob's queued mail nor write into
the queue around postdrop; a hand-made queue file that forges auth= or client_address= is put
aside by pickup (corrupt/maildrop-ID, a log line, nothing delivered, pickup still the same
process); a truncated or garbage image is refused by postdrop (65) with nothing left behind;
another configuration directory is refused (77) unless listed in alternate_config_directories
of /etc/postern/main.cf; pickup's Received: and log name alice's UID, and her -f sender is
kept as the Return-Path, as Postfix does.

Runs as root in a sandboxed system root (tests/harness/system_root.py): users alice and bob,
/etc/postern -> this suite's etc/, postdrop a copy group postdrop mode 2755; every attempt is
made as alice through setpriv. bob's message waits in deferred/ because relayhost is a closed
loopback port. Skipped (77) when the sandbox is impossible."""
import errno
import json
import os
import pwd
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
import system_root  # noqa: E402
from local_mail import (kLocalMainCf, log_lines, messages_with, parse,  # noqa: E402
                        queue_image, run_postdrop_as, sendmail_as, simple_message, token,
                        wait_log, wait_mbox_message)
from postern_harness import Suite, free_port, wait_until  # noqa: E402

kQueueFolders = ("incoming", "active", "deferred", "hold", "corrupt", "maildrop")
kEX_DATAERR = 65
kEX_NOPERM = 77

ROOT = None
SUITE = None

# Run as alice: each attempt, and the errno it ended with (0 = it worked).
kProbe = r"""
import json, os, sys
results = {}
for kind, path in json.loads(sys.argv[1]):
    try:
        if kind == "list":
            os.listdir(path)
        elif kind == "read":
            os.close(os.open(path, os.O_RDONLY))
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        results[kind + " " + path] = 0
    except OSError as e:
        results[kind + " " + path] = e.errno
print(json.dumps(results))
"""


def probe_as(user, attempts):
    result = ROOT.run_as(user, [sys.executable, "-c", kProbe, json.dumps(attempts)])
    assert result.returncode == 0, result
    return json.loads(result.stdout)


def queue_path(*parts):
    return os.path.join(SUITE.spool, *parts)


def maildrop_entries():
    return os.listdir(queue_path("maildrop"))


def test_alice_cannot_read_bobs_queued_message():
    tok = token("private")
    sendmail_as(SUITE, ROOT, "bob", ["-i", "carol@remote.example"],
                simple_message(f"private {tok}", f"secret {tok}\n", sender="bob"))

    def deferred_file():
        for path in SUITE.queue_files("deferred"):
            with open(path, "rb") as f:
                if tok.encode() in f.read():
                    return path
        return None
    path = wait_until(deferred_file, 30, 0.1, f"{tok} in deferred/")
    attempts = [["list", queue_path(folder)] for folder in kQueueFolders]
    attempts += [["read", path], ["read", path.replace("/deferred/", "/active/")],
                 ["read", path.replace("/deferred/", "/incoming/")]]
    results = probe_as("alice", attempts)
    wrong = {what: errno.errorcode.get(code, code) for what, code in results.items()
             if code != errno.EACCES}
    assert not wrong, f"alice got something other than EACCES: {wrong}"


def test_alice_cannot_write_the_queue_directly():
    name = "A" + token("forged").replace("-", "")[:14].upper()
    results = probe_as("alice", [["write", queue_path("incoming", name)],
                                 ["write", queue_path("maildrop", name)]])
    wrong = {what: errno.errorcode.get(code, code) for what, code in results.items()
             if code != errno.EACCES}
    assert not wrong, f"alice could write (or failed otherwise): {wrong}"
    for folder in ("incoming", "maildrop"):
        assert not os.path.exists(queue_path(folder, name)), folder


def forged_submission(attribute):
    """postdrop as alice with an image carrying attribute; checks where it ends."""
    tok = token("forge")
    pickup_pids = SUITE.worker_pids("pickup")
    uid = pwd.getpwnam("alice").pw_uid
    before = set(os.listdir(queue_path("corrupt")))
    message = simple_message(f"forged {tok}", "forged\n", sender="alice").replace("\n", "\r\n")
    image = queue_image("alice@mx.example.test", ["alice@localhost"], message,
                        attributes=[attribute])
    result = run_postdrop_as(SUITE, ROOT, "alice", image, config_dir="/etc/postern")
    assert result.returncode == 0, ("postdrop refused a well-formed image", result)

    def new_corrupt():
        return sorted(set(os.listdir(queue_path("corrupt"))) - before)
    found = wait_until(new_corrupt, 30, 0.05, f"a file in corrupt/ for {attribute}")
    assert len(found) == 1 and found[0].startswith("maildrop-"), found
    queue_id = found[0][len("maildrop-"):]
    with open(queue_path("corrupt", found[0]), "rb") as f:
        assert tok.encode() in f.read()
    lines = wait_log(SUITE, f"maildrop/{queue_id}:", f"refused (uid={uid})",
                     f"moved to corrupt/maildrop-{queue_id}")
    assert attribute[0] in lines[0], ("the log line does not say why", lines)
    # nothing delivered: a normal message sent after it arrives, the forged one does not
    proof = token("after")
    sendmail_as(SUITE, ROOT, "alice", ["-i", "alice@localhost"],
                simple_message(f"after {proof}", "normal\n", sender="alice"))
    wait_mbox_message(SUITE, "alice", proof)
    assert not messages_with(SUITE, "alice", tok), f"the forged {attribute} was delivered"
    assert not log_lines(SUITE, queue_id, "status=sent"), log_lines(SUITE, queue_id)
    assert SUITE.worker_pids("pickup") == pickup_pids, (pickup_pids, SUITE.worker_pids("pickup"))


def test_forged_auth_attribute_goes_to_corrupt():
    forged_submission(("auth", "bob"))


def test_forged_client_address_goes_to_corrupt():
    forged_submission(("client_address", "1.2.3.4"))


def test_truncated_or_garbage_image_is_refused():
    good = queue_image("alice@mx.example.test", ["alice@localhost"],
                       simple_message("t", "truncated\n").replace("\n", "\r\n"))
    cases = {"truncated": good[:len(good) // 2], "without E": good[:-5],
             "garbage": b"this is not a queue file\n" * 100, "empty": b"",
             "trailing bytes": good + b"X"}
    for what, image in cases.items():
        before = set(maildrop_entries())
        result = run_postdrop_as(SUITE, ROOT, "alice", image, config_dir="/etc/postern")
        assert result.returncode == kEX_DATAERR, (what, result.returncode, result.stderr)
        left = set(maildrop_entries()) - before
        assert not left, (what, "left in maildrop/", left)


def test_other_config_directory_is_refused():
    assert os.path.realpath("/etc/postern") == os.path.realpath(SUITE.etc)
    with open("/etc/postern/main.cf") as f, open(os.path.join(SUITE.etc, "main.cf")) as g:
        assert f.read() == g.read()
    other = os.path.join(ROOT.dir, "other-etc")
    os.makedirs(other, exist_ok=True)
    shutil.copy(os.path.join(SUITE.etc, "main.cf"), os.path.join(other, "main.cf"))
    os.chmod(other, 0o755)
    os.chmod(os.path.join(other, "main.cf"), 0o644)
    tok = token("othercf")
    before = set(maildrop_entries())
    result = sendmail_as(SUITE, ROOT, "alice", ["-i", "alice@localhost"],
                         simple_message(f"other {tok}", "x\n"), check=False, config_dir=other)
    assert result.returncode == kEX_NOPERM, (result.returncode, result.stderr)
    assert not set(maildrop_entries()) - before
    direct = run_postdrop_as(SUITE, ROOT, "alice", queue_image(
        "alice@mx.example.test", ["alice@localhost"], "Subject: x\r\n\r\nx\r\n"),
        config_dir=other)
    assert direct.returncode == kEX_NOPERM, (direct.returncode, direct.stderr)
    assert not messages_with(SUITE, "alice", tok)


def test_received_names_the_uid_and_f_is_kept():
    tok = token("uid")
    uid = pwd.getpwnam("alice").pw_uid
    sendmail_as(SUITE, ROOT, "alice", ["-i", "-f", "someone@example.org", "alice@localhost"],
                f"Subject: uid {tok}\n\nbody {tok}\n")
    raw = wait_mbox_message(SUITE, "alice", f"uid {tok}")
    message = parse(raw)
    assert raw.startswith(b"From someone@example.org "), raw[:200]
    assert message["Return-Path"] == "<someone@example.org>", raw[:600]
    assert re.search(rf"^Received: by mx\.example\.test \(Postern, from userid {uid}\)",
                     raw.decode(), re.M), raw[:600]
    queue_id = re.search(r"\n\tid (\w+);", raw.decode()).group(1)
    assert log_lines(SUITE, f"{queue_id}: uid={uid} from=<someone@example.org>"), \
        log_lines(SUITE, queue_id)


def main():
    global ROOT, SUITE
    system_root.enter()
    if shutil.which("setpriv") is None or shutil.which("useradd") is None:
        postern_harness.skip_test("setpriv and useradd are needed")
    with system_root.SystemRoot() as root:
        ROOT = root
        root.add_user("alice", full_name="Alice Liddell")
        root.add_user("bob", full_name="Bob Bobson")
        extra = kLocalMainCf + f"relayhost = [127.0.0.1]:{free_port()}\n"
        exit_code = 1
        with Suite(main_cf_extra=extra, daemon_directory=root.bin_dir) as suite:
            SUITE = suite
            root.install_sendmail(suite)
            try:
                postern_harness.run_tests([
                    test_alice_cannot_read_bobs_queued_message,
                    test_alice_cannot_write_the_queue_directly,
                    test_forged_auth_attribute_goes_to_corrupt,
                    test_forged_client_address_goes_to_corrupt,
                    test_truncated_or_garbage_image_is_refused,
                    test_other_config_directory_is_refused,
                    test_received_names_the_uid_and_f_is_kept,
                ])
            except SystemExit as done:
                exit_code = done.code
            if exit_code:
                sys.stderr.write(f"--- postern log ---\n{suite.log()[-12000:]}\n")
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
