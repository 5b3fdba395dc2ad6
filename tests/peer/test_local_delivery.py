"""postern-local end to end, as Postfix's local(8) behaves: sendmail(1) as root puts mail for
the system users alice and bob into the queue, and it must land in suite.var_mail/USER (mbox:
"From " line, Return-Path:, Delivered-To:, ">From " escaping, owner USER, group mail, 0660,
dotlock respected) or ~/Maildir/new/ with home_mailbox = Maildir/; /etc/aliases (the suite's
aliases file, compiled by newaliases) with chains, lists, "|command" and "/file" run as
default_privs; ~/.forward with forwarding, "\\user" copies, unsafe files ignored, "|command"
as the user and refused by allow_mail_to_commands = alias; bounces (DSN to the sender) for an
unknown user (5.1.1) and forwarding loops (5.4.6).

Runs as root in a sandboxed system root (tests/harness/system_root.py) where alice and bob are
created; no $myorigin, so bare names are local. Skipped (77) when the sandbox is impossible."""
import grp
import os
import pwd
import re
import shutil
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
import system_root  # noqa: E402
from local_mail import (dsn_fields, kLocalMainCf, log_lines, maildir_messages,  # noqa: E402
                        mbox_messages, mbox_path, messages_with, sendmail_as, simple_message,
                        token, wait_bounce, wait_mbox_message)
from postern_harness import Suite, wait_until  # noqa: E402

kBodyBytes = 1 << 20

ROOT = None   # the SystemRoot
SUITE = None  # the Suite of most tests (mbox delivery, default policies)
WORK = None   # a folder every user may write (1777), for what commands and files write


def send(recipients, subject, body="hello\n", sender="bob@localhost", extra_headers=""):
    text = simple_message(subject, body, sender=sender)
    if extra_headers:
        text = extra_headers + text
    sendmail_as(SUITE, ROOT, None, ["-i", "-f", sender] + list(recipients), text)


def write_forward(user, text, mode=0o644, owner=None):
    entry = pwd.getpwnam(user)
    path = os.path.join(entry.pw_dir, ".forward")
    with open(path, "w") as f:
        f.write(text)
    owner_entry = pwd.getpwnam(owner or user)
    os.chown(path, owner_entry.pw_uid, owner_entry.pw_gid)
    os.chmod(path, mode)
    return path


def remove_forward(user):
    path = os.path.join(pwd.getpwnam(user).pw_dir, ".forward")
    if os.path.exists(path):
        os.unlink(path)


def newaliases(suite, text):
    suite.write_aliases(text)
    result = sendmail_as(suite, ROOT, None, ["-bi"], "")
    assert result.returncode == 0, result


# ---- mbox ----------------------------------------------------------------------------------
def test_mbox_holds_the_message_byte_for_byte():
    """1 MB with "From " lines, a lone ".", 8-bit UTF-8: only the documented changes."""
    tok = token("big")
    lines = ["From the first line of the body, which must be escaped",
             ".", "..two dots stay two dots", "Grüße aus Köln — 日本語 ✓ ünïcödé",
             ">From already quoted stays as it is", "From", " From indented", ""]
    body = "\n".join(lines) + "\n"
    seq = 0
    while len(body.encode()) < kBodyBytes:
        start = "From " if seq % 97 == 0 else ("." if seq % 89 == 0 else "")
        body += f"{start}{seq:06d} ünïcödé fill line — {tok} {'x' * 60}\n"
        seq += 1
    body += f"last line {tok}\n"
    text = simple_message(f"big {tok}", body, sender="Sender <sender@example.org>",
                          to="alice@localhost")
    text = text.replace("\n\n", "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                        "Content-Transfer-Encoding: 8bit\n\n", 1)
    sendmail_as(SUITE, ROOT, None, ["-i", "-f", "sender@example.org", "alice@localhost"], text)
    # the last line: the whole message is there (the writer appends 64 KiB at a time)
    raw = wait_mbox_message(SUITE, "alice", f"last line {tok}\n", timeout=60)
    from_line, rest = raw.split(b"\n", 1)
    assert re.fullmatch(rb"From sender@example\.org \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}",
                        from_line), from_line
    received = re.match(rb"Return-Path: <sender@example\.org>\nDelivered-To: alice@localhost\n"
                        rb"(Received: by mx\.example\.test \(Postern, from userid 0\)\n\tid "
                        rb"[0-9A-Za-z]+; [^\n]+\n)", rest)
    assert received, rest[:500]
    expected = b"".join(b">" + line if line.startswith(b"From ") else line
                        for line in text.encode().splitlines(keepends=True)) + b"\n"
    got = rest[received.end():]
    if got != expected:
        at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b),
                  min(len(got), len(expected)))
        raise AssertionError(f"mbox differs at byte {at} (got {len(got)}, expected "
                             f"{len(expected)}): got {got[max(0, at - 80):at + 80]!r}, expected "
                             f"{expected[max(0, at - 80):at + 80]!r}")


def test_mbox_owner_group_and_mode():
    path = mbox_path(SUITE, "alice")
    wait_until(lambda: os.path.exists(path), 30, what=path)
    st = os.stat(path)
    assert st.st_uid == pwd.getpwnam("alice").pw_uid, st
    assert st.st_gid == grp.getgrnam("mail").gr_gid, st
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)


def test_delivery_waits_for_the_dotlock():
    tok = token("lock")
    lock = mbox_path(SUITE, "alice") + ".lock"
    with open(lock, "w") as f:
        f.write(f"{os.getpid()}\n")
    try:
        send(["alice@localhost"], f"locked {tok}")
        try:
            wait_until(lambda: messages_with(SUITE, "alice", tok), 2.5, 0.1)
            raise AssertionError("delivered while /var/mail/alice.lock existed")
        except TimeoutError:
            pass
    finally:
        os.unlink(lock)
    wait_mbox_message(SUITE, "alice", tok, timeout=60)


def test_home_mailbox_maildir():
    tok = token("maildir")
    home = pwd.getpwnam("alice").pw_dir
    extra = kLocalMainCf + "home_mailbox = Maildir/\n"
    with Suite(main_cf_extra=extra, daemon_directory=ROOT.bin_dir) as suite:
        sendmail_as(suite, ROOT, None, ["-i", "alice"], simple_message(f"md {tok}", "maildir\n"))
        new = os.path.join(home, "Maildir", "new")

        def landed():
            return [p for p in maildir_messages(new) if tok.encode() in open(p, "rb").read()]
        found = wait_until(landed, 30, 0.05, f"{tok} in {new}")
        assert len(found) == 1, found
        with open(found[0], "rb") as f:
            data = f.read()
        assert data.startswith(b"Return-Path: <root@mx.example.test>\n"
                               b"Delivered-To: alice@mx.example.test\n"), data[:300]
        assert b"\r\n" not in data and data.endswith(b"\n\nmaildir\n"), data[-200:]
        alice = pwd.getpwnam("alice").pw_uid
        for path in (found[0], new, os.path.join(home, "Maildir")):
            assert os.stat(path).st_uid == alice, (path, os.stat(path))
        assert not os.path.exists(mbox_path(suite, "alice")), "also in /var/mail/alice"


# ---- aliases -------------------------------------------------------------------------------
def test_aliases_chain_list_command_and_file():
    tok = token("alias")
    pipe_out = os.path.join(WORK, f"pipe-{tok}")
    file_out = os.path.join(WORK, f"file-{tok}")
    newaliases(SUITE, "# aliases(5) of test_local_delivery\n"
                      "postmaster: root\nroot: alice\nteam2: alice, bob\n"
                      f"piped: \"|cat > {pipe_out}\"\n"
                      f"filed: {file_out}\n"
                      "loopa: loopb\nloopb: loopa@localhost\n")
    send(["postmaster@localhost"], f"chain {tok}")
    raw = wait_mbox_message(SUITE, "alice", f"chain {tok}")
    assert b"\nDelivered-To: " in raw, raw[:400]
    send(["team2@localhost"], f"list {tok}")
    wait_mbox_message(SUITE, "alice", f"list {tok}")
    wait_mbox_message(SUITE, "bob", f"list {tok}")
    send(["piped@localhost"], f"pipe {tok}")
    wait_until(lambda: os.path.exists(pipe_out) and tok in open(pipe_out).read(), 30, 0.05,
               pipe_out)
    nobody = pwd.getpwnam("nobody").pw_uid
    assert os.stat(pipe_out).st_uid == nobody, ("|command not run as default_privs",
                                                 os.stat(pipe_out))
    with open(pipe_out, "rb") as f:
        piped = f.read()
    assert piped.startswith(b"From bob@localhost ") and b"\nReturn-Path: <bob@localhost>\n" \
        in piped and f"Subject: pipe {tok}\n".encode() in piped, piped[:400]
    send(["filed@localhost"], f"file {tok}")
    wait_until(lambda: os.path.exists(file_out) and tok in open(file_out).read(), 30, 0.05,
               file_out)
    assert os.stat(file_out).st_uid == nobody, ("/file not written as default_privs",
                                                os.stat(file_out))
    with open(file_out, "rb") as f:
        filed = f.read()
    assert filed.startswith(b"From bob@localhost ") and filed.endswith(b"hello\n\n"), filed[:400]


def test_alias_loop_bounces():
    tok = token("aloop")
    send(["loopa@localhost"], f"alias loop {tok}")
    status, diagnostic, _ = dsn_fields(wait_bounce(SUITE, "bob", tok))
    assert status == "5.4.6", (status, diagnostic)


def test_delivered_to_loop_bounces():
    tok = token("dloop")
    send(["alice@localhost"], f"dt loop {tok}", extra_headers="Delivered-To: alice@localhost\n")
    status, diagnostic, _ = dsn_fields(wait_bounce(SUITE, "bob", tok))
    assert status == "5.4.6", (status, diagnostic)
    assert not [m for m in messages_with(SUITE, "alice", tok)], "delivered despite the loop"


def test_unknown_user_bounces():
    tok = token("unknown")
    send(["nosuchuser@localhost"], f"unknown {tok}")
    status, diagnostic, final = dsn_fields(wait_bounce(SUITE, "bob", tok))
    assert (status, final) == ("5.1.1", "nosuchuser@localhost"), (status, diagnostic, final)
    assert "unknown user" in diagnostic, diagnostic


# ---- ~/.forward ----------------------------------------------------------------------------
def test_forward_to_bob():
    tok = token("fwd")
    write_forward("alice", "bob\n")
    try:
        send(["alice@localhost"], f"forward {tok}")
        wait_mbox_message(SUITE, "bob", tok)
        assert not messages_with(SUITE, "alice", tok), "alice kept a copy without \\alice"
    finally:
        remove_forward("alice")


def test_forward_with_own_copy():
    tok = token("copy")
    write_forward("alice", "\\alice, bob\n")
    try:
        send(["alice@localhost"], f"copy {tok}")
        wait_mbox_message(SUITE, "bob", tok)
        wait_mbox_message(SUITE, "alice", tok)
    finally:
        remove_forward("alice")


def test_unsafe_forward_is_ignored():
    for mode, owner in ((0o664, "alice"), (0o644, "bob")):
        tok = token("unsafe")
        path = write_forward("alice", "bob\n", mode=mode, owner=owner)
        try:
            send(["alice@localhost"], f"unsafe {tok}")
            wait_mbox_message(SUITE, "alice", tok)
            assert not messages_with(SUITE, "bob", tok), (f"forwarded by a .forward of mode "
                                                          f"{mode:o} owned by {owner}")
            assert log_lines(SUITE, path, "ignored"), f"no log line about {path}"
        finally:
            remove_forward("alice")


def test_forward_command_runs_as_the_user():
    tok = token("fcmd")
    out = os.path.join(WORK, f"forward-{tok}")
    write_forward("alice", f"\"|cat > {out}\"\n")
    try:
        send(["alice@localhost"], f"fcmd {tok}")
        wait_until(lambda: os.path.exists(out) and tok in open(out).read(), 30, 0.05, out)
        assert os.stat(out).st_uid == pwd.getpwnam("alice").pw_uid, os.stat(out)
        assert not messages_with(SUITE, "alice", tok), "also in the mbox"
    finally:
        remove_forward("alice")


def test_forward_command_refused_by_allow_mail_to_commands():
    tok = token("refused")
    out = os.path.join(WORK, f"refused-{tok}")
    write_forward("alice", f"\"|cat > {out}\"\n")
    extra = kLocalMainCf + "allow_mail_to_commands = alias\n"
    try:
        with Suite(main_cf_extra=extra, daemon_directory=ROOT.bin_dir) as suite:
            sendmail_as(suite, ROOT, None, ["-i", "-f", "bob@localhost", "alice@localhost"],
                        simple_message(f"refused {tok}", "no command\n"))
            status, diagnostic, final = dsn_fields(wait_bounce(suite, "bob", tok))
            assert (status, final) == ("5.7.1", "alice@localhost"), (status, diagnostic, final)
            assert "allow_mail_to_commands" in diagnostic, diagnostic
            assert not os.path.exists(out), "the command ran"
            assert not mbox_messages(suite, "alice"), "delivered to alice's mbox instead"
    finally:
        remove_forward("alice")


def main():
    global ROOT, SUITE, WORK
    system_root.enter()
    if shutil.which("setpriv") is None or shutil.which("useradd") is None:
        postern_harness.skip_test("setpriv and useradd are needed")
    with system_root.SystemRoot() as root:
        ROOT = root
        root.add_user("alice", full_name="Alice Liddell")
        root.add_user("bob", full_name="Bob Bobson")
        WORK = os.path.join(root.dir, "work")
        os.makedirs(WORK)
        os.chmod(WORK, 0o1777)
        exit_code = 1
        with Suite(main_cf_extra=kLocalMainCf, daemon_directory=root.bin_dir) as suite:
            SUITE = suite
            root.install_sendmail(suite)
            try:
                postern_harness.run_tests([
                    test_mbox_holds_the_message_byte_for_byte,
                    test_mbox_owner_group_and_mode,
                    test_delivery_waits_for_the_dotlock,
                    test_home_mailbox_maildir,
                    test_aliases_chain_list_command_and_file,
                    test_alias_loop_bounces,
                    test_delivered_to_loop_bounces,
                    test_unknown_user_bounces,
                    test_forward_to_bob,
                    test_forward_with_own_copy,
                    test_unsafe_forward_is_ignored,
                    test_forward_command_runs_as_the_user,
                    test_forward_command_refused_by_allow_mail_to_commands,
                ])
            except SystemExit as done:
                exit_code = done.code
            if exit_code:
                sys.stderr.write(f"--- postern log ---\n{suite.log()[-12000:]}\n")
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
