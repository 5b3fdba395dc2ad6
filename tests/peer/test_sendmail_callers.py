"""The programs Debian runs that send mail through /usr/sbin/sendmail, each as it really runs:
cron (an @reboot job of a user crontab), anacron (MAILTO), bsd-mailx and mutt in batch mode,
git send-email with sendmail as transport, PHP's mail(), unattended-upgrades' `sendmail -oi -t`,
`sendmail -bs` spoken by a program, `sendmail -f` by a user, and mailq. Each test checks the
message where it lands (headers and body) and the sendmail command line the program used, as a
logging wrapper at /usr/sbin/sendmail records it.

Runs as root in a sandboxed system root (tests/harness/system_root.py: its own mount namespace,
overlays on /etc, /usr/sbin..., nothing written on the machine) with login users alice and bob,
configured as Debian's MTA packages leave a box: $myorigin = /etc/mailname (the host name, a
domain of mydestination), alias_maps = hash:/etc/aliases with "root: alice" built by the real
newaliases, so a bare "alice" lands in alice's mbox through postern-local (landed()) and root's
mail in alice's too. Skipped (77) when not root, without unshare or overlayfs, or a program is
missing."""
import email
import email.message
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import threading
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
import system_root  # noqa: E402
from postern_harness import Suite, skip_test, wait_until  # noqa: E402

kPrograms = ("cron", "crontab", "anacron", "bsd-mailx", "mutt", "git", "php", "setpriv",
             "useradd")
kLandSeconds = 30
HOST = "mx.example.test"  # the suite's myhostname, in mydestination and in /etc/mailname
kCommandSeconds = 60

ROOT = None   # the SystemRoot
SUITE = None  # the Suite, whose etc/ is /etc/postern in the sandbox


# ---- where mail lands ----------------------------------------------------------------------
def landed(user):
    """The messages delivered to local user `user`'s mbox (the suite's mail_spool_directory),
    oldest first, each (raw text without the From_ line, parsed)."""
    path = os.path.join(SUITE.var_mail, user)
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        text = f.read()
    found = []
    # Each message: a From_ line, the message, an empty line (mbox, as postern-local writes it).
    for chunk in re.split(rb"(?<=\n)\n(?=From )", text):
        if not chunk.startswith(b"From "):
            continue
        raw = chunk.split(b"\n", 1)[1] if b"\n" in chunk else b""
        if raw.endswith(b"\n\n"):
            raw = raw[:-1]  # the empty line after the last message
        found.append((raw.decode(errors="replace"), email.message_from_bytes(raw)))
    return found


def wait_landed(user, marker, timeout=kLandSeconds):
    """The one message for user whose text or decoded body contains marker, once it has
    landed: (raw text, email.message.Message with the headers as written)."""
    def find():
        hits = [m for m in landed(user) if marker in m[0] or marker in body_text(m[1])]
        assert len(hits) <= 1, f"{len(hits)} messages with {marker} for {user}"
        return hits[0] if hits else None
    try:
        return wait_until(find, timeout, 0.05, f"mail with {marker} for {user}")
    except TimeoutError:
        sys.stderr.write(f"--- postern log, last lines ---\n{SUITE.log()[-4000:]}\n")
        raise TimeoutError(f"no mail with {marker} for {user}; sendmail calls: "
                           f"{ROOT.sendmail_calls()}") from None


def calls_with(program_name):
    """The sendmail command lines recorded since the last clear_calls(), by argv[0]'s name."""
    return [(user, argv) for user, argv in ROOT.sendmail_calls()
            if os.path.basename(argv[0]) == program_name]


def clear_calls():
    with open(ROOT.argv_log, "w"):
        pass


def body_text(message):
    """The decoded text of a single-part message (every caller here sends one)."""
    payload = message.get_payload(decode=True) or b""
    return payload.decode(message.get_content_charset() or "utf-8", errors="replace")


def marker():
    return "marker-" + uuid.uuid4().hex[:12]


def check_ran(result):
    assert result.returncode == 0, (result.args, result.returncode, result.stdout, result.stderr)
    return result


# ---- callers -------------------------------------------------------------------------------
def test_cron_reboot_job_mails_its_owner():
    """Debian's cron runs alice's @reboot job at start (no /run/crond.reboot) and mails its
    output to her (MAILTO unset) as alice: -FCronDaemon -i -B8BITMIME -oem alice."""
    token = marker()
    clear_calls()
    # Only this crontab: the sandbox's /etc/crontab and /etc/cron.d go (whiteouts in the overlay).
    system_jobs = [os.path.join("/etc/cron.d", name) for name in os.listdir("/etc/cron.d")]
    for path in ["/etc/crontab"] + system_jobs:
        os.unlink(path)
    if os.path.exists("/run/crond.reboot"):
        os.unlink("/run/crond.reboot")
    tab = os.path.join(ROOT.dir, "alice.crontab")
    with open(tab, "w") as f:
        f.write(f"@reboot echo cron said {token}; echo second line\n")
    check_ran(subprocess.run(["crontab", "-u", "alice", tab], capture_output=True, text=True,
                             timeout=kCommandSeconds))
    with open(os.path.join(ROOT.dir, "cron.log"), "wb") as cron_log:
        cron = subprocess.Popen(["cron", "-f"], stdout=cron_log, stderr=cron_log,
                                start_new_session=True)
    try:
        raw, message = wait_landed("alice", token)
    finally:
        cron.send_signal(signal.SIGTERM)
        try:
            cron.wait(10)
        except subprocess.TimeoutExpired:
            cron.kill()
            cron.wait(10)
    assert re.fullmatch(r"Cron <alice@[^>]+> echo cron said .*", str(message["Subject"])), raw
    # cron writes its own From: (so -FCronDaemon, meant for a missing From:, is not used)
    # Bare names in address fields get $myorigin, as Postfix's cleanup gives them.
    assert message["From"] == f"root@{HOST} (Cron Daemon)", raw
    assert message["To"] == f"alice@{HOST}", raw
    assert message["Return-Path"] == f"<alice@{HOST}>", raw
    assert f"cron said {token}\nsecond line\n" in body_text(message), raw
    assert calls_with("sendmail") == [
        ("alice", ["/usr/sbin/sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "alice"])
    ], ROOT.sendmail_calls()


def test_anacron_job_mails_mailto():
    """anacron (run by root, -n: now) mails a job's output to MAILTO: -FAnacron -odi alice."""
    token = marker()
    clear_calls()
    tab = os.path.join(ROOT.dir, "anacrontab")
    spool = os.path.join(ROOT.dir, "anacron-spool")
    os.makedirs(spool, exist_ok=True)
    with open(tab, "w") as f:
        f.write("SHELL=/bin/sh\nPATH=/usr/bin:/bin\nMAILTO=alice\n"
                f"1 0 postern-test echo anacron said {token}\n")
    check_ran(subprocess.run(["anacron", "-d", "-f", "-n", "-t", tab, "-S", spool],
                             capture_output=True, text=True, timeout=kCommandSeconds))
    raw, message = wait_landed("alice", token)
    assert re.fullmatch(r"Anacron job 'postern-test' on \S+", str(message["Subject"])), raw
    assert "Anacron" in str(message["From"]), raw
    assert f"anacron said {token}\n" in body_text(message), raw
    assert message["Return-Path"] == f"<root@{HOST}>", raw
    assert message["To"] == f"alice@{HOST}", raw
    assert calls_with("sendmail") == [
        ("root", ["/usr/sbin/sendmail", "-FAnacron", "-odi", "alice"])], ROOT.sendmail_calls()


def test_bsd_mailx_as_a_user():
    """`mail -s SUBJECT alice` (bsd-mailx) as alice: it passes the recipients in To: (-i -t)."""
    token = marker()
    clear_calls()
    mail = shutil.which("mail")
    assert os.path.realpath(mail) == "/usr/bin/bsd-mailx", os.path.realpath(mail)
    check_ran(ROOT.run_as("alice", [mail, "-s", f"mailx {token}", "alice"],
                          input=f"sent with mailx\n{token}\n"))
    raw, message = wait_landed("alice", token)
    assert message["Subject"] == f"mailx {token}", raw
    assert message["To"] == f"alice@{HOST}", raw
    assert message["From"] == f"Alice Liddell <alice@{HOST}>", raw
    assert message["Return-Path"] == f"<alice@{HOST}>", raw
    assert body_text(message) == f"sent with mailx\n{token}\n", raw
    assert calls_with("sendmail") == [
        ("alice", ["/usr/sbin/sendmail", "-i", "-t"])], ROOT.sendmail_calls()


def test_mutt_batch_mode():
    """mutt in batch mode (stdin not a terminal) as alice, sendmail as Debian's default."""
    token = marker()
    clear_calls()
    home = ROOT.user_env("alice")["HOME"]
    with open(os.path.join(home, ".muttrc"), "w") as f:
        f.write('set sendmail = "/usr/sbin/sendmail -oem -oi"\nset record = ""\nset copy = no\n')
    check_ran(ROOT.run_as("alice", ["mutt", "-s", f"mutt {token}", "--", "bob"],
                          input=f"sent with mutt\n{token}\n"))
    raw, message = wait_landed("bob", token)
    assert message["Subject"] == f"mutt {token}", raw
    # mutt qualifies bare names with /etc/mailname and adds the passwd names itself
    assert message["To"] == f"Bob Bobson <bob@{HOST}>", raw
    assert message["From"] == f"Alice Liddell <alice@{HOST}>", raw
    assert message["Return-Path"] == f"<alice@{HOST}>", raw
    assert body_text(message) == f"sent with mutt\n{token}\n", raw
    assert calls_with("sendmail") == [
        ("alice", ["/usr/sbin/sendmail", "-oem", "-oi", "--", f"bob@{HOST}"])
    ], ROOT.sendmail_calls()


def test_git_send_email_with_sendmail_transport():
    """git send-email with --smtp-server=/usr/sbin/sendmail: a patch of a fresh repository
    reaches bob whole."""
    token = marker()
    clear_calls()
    repo = os.path.join(ROOT.user_env("alice")["HOME"], "repo")
    env = {"GIT_AUTHOR_NAME": "Alice Liddell", "GIT_AUTHOR_EMAIL": "alice@example.test",
           "GIT_COMMITTER_NAME": "Alice Liddell", "GIT_COMMITTER_EMAIL": "alice@example.test"}
    steps = [["git", "init", "-q", repo],
             ["sh", "-c", "echo first > notes.txt && git add notes.txt && "
                          "git commit -q -m 'Add notes'"],
             ["sh", "-c", f"echo 'line {token}' >> notes.txt && git commit -q -a "
                          f"-m 'Note the marker'"],
             ["git", "format-patch", "-q", "-1", "-o", "patches"]]
    for step in steps:
        check_ran(ROOT.run_as("alice", step, env=env, cwd=repo if step[1] != "init" else None))
    patches = sorted(os.listdir(os.path.join(repo, "patches")))
    assert len(patches) == 1, patches
    check_ran(ROOT.run_as("alice", [
        "git", "send-email", "--smtp-server=/usr/sbin/sendmail", "--to=bob",
        "--from=Alice Liddell <alice@example.test>", "--confirm=never", "--suppress-cc=all",
        "--quiet", os.path.join("patches", patches[0])], env=env, cwd=repo))
    raw, message = wait_landed("bob", token)
    assert message["Subject"] == "[PATCH] Note the marker", raw
    assert message["From"] == "Alice Liddell <alice@example.test>", raw  # as git was told
    assert message["To"] == f"bob@{HOST}", raw
    assert message["Return-Path"] == f"<alice@{HOST}>", raw
    text = body_text(message)
    assert f"+line {token}\n" in text and "--- a/notes.txt\n+++ b/notes.txt\n" in text, raw
    calls = calls_with("sendmail")
    assert calls == [("alice", ["/usr/sbin/sendmail", "-i", "bob"])], ROOT.sendmail_calls()


def test_php_mail_function():
    """PHP's mail() from php-cli as alice (sendmail_path's default: -t -i)."""
    token = marker()
    clear_calls()
    result = check_ran(ROOT.run_as("alice", [
        "php", "-r", f'var_export(mail("bob", "php {token}", "sent with php\\n{token}"));']))
    assert result.stdout == "true", result
    raw, message = wait_landed("bob", token)
    assert message["Subject"] == f"php {token}", raw
    assert message["To"] == f"bob@{HOST}", raw
    assert message["Return-Path"] == f"<alice@{HOST}>", raw
    assert body_text(message) == f"sent with php\n{token}\n", raw
    assert calls_with("sendmail") == [("alice", ["/usr/sbin/sendmail", "-t", "-i"])], \
        ROOT.sendmail_calls()


def test_unattended_upgrades_report_to_root():
    """unattended-upgrades' report: `sendmail -oi -t`, To: root, utf-8 (base64) body; root's
    mail goes where /etc/aliases says (root: alice)."""
    token = marker()
    clear_calls()
    # As unattended-upgrades composes its report (email.message, utf-8) and pipes it.
    report = email.message.Message()
    report.set_payload(f"Unattended upgrade result: All upgrades installed\n{token}\n", "utf-8")
    report["Subject"] = "unattended-upgrades result for sandbox.example.test: SUCCESS"
    report["From"] = "root"
    report["To"] = "root"
    report["Auto-Submitted"] = "auto-generated"
    check_ran(subprocess.run(["/usr/sbin/sendmail", "-oi", "-t"], input=report.as_string(),
                             capture_output=True, text=True, timeout=kCommandSeconds))
    raw, message = wait_landed("alice", token)
    assert message["Subject"] == report["Subject"], raw
    assert message["To"] == f"root@{HOST}", raw
    assert message["Auto-Submitted"] == "auto-generated", raw
    assert message["Delivered-To"] == f"alice@{HOST}", raw
    # local logs the delivery after the mbox is written: wait for the line, bounded.
    delivered = re.compile(rf"to=<alice@{re.escape(HOST)}>, orig_to=<root@{re.escape(HOST)}>, "
                           r"relay=local, .*status=sent \(delivered to mailbox\)")
    wait_until(lambda: delivered.search(SUITE.log()), kLandSeconds, 0.05,
               "local's log line for root's mail")
    assert message.get_content_charset() == "utf-8", raw
    assert token in body_text(message), raw
    assert calls_with("sendmail") == [("root", ["/usr/sbin/sendmail", "-oi", "-t"])], \
        ROOT.sendmail_calls()


def read_reply(stream):
    """One SMTP reply (all its lines); returns (code, text)."""
    lines = []
    while True:
        line = stream.readline()
        assert line, f"sendmail -bs closed the connection after {lines}"
        lines.append(line.rstrip("\r\n"))
        if len(line) < 4 or line[3] != "-":
            return int(line[:3]), "\n".join(lines)


def test_sendmail_bs_with_dot_stuffing():
    """A program speaking SMTP to `sendmail -bs` on its stdin/stdout as alice: a dot-stuffed
    line arrives with one dot."""
    token = marker()
    clear_calls()
    process = subprocess.Popen(ROOT.as_user_argv("alice", ["/usr/sbin/sendmail", "-bs"]),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env=ROOT.user_env("alice"), start_new_session=True)
    # The whole dialogue is bounded: past the deadline sendmail is killed and the next read
    # sees end of file.
    deadline = threading.Timer(kCommandSeconds, process.kill)
    deadline.start()
    try:
        def command(line, expected):
            process.stdin.write(line + "\r\n")
            process.stdin.flush()
            code, text = read_reply(process.stdout)
            assert code == expected, (line, text)
        code, text = read_reply(process.stdout)
        assert code == 220, text
        command("EHLO client.example.test", 250)
        command("MAIL FROM:<alice>", 250)
        command("RCPT TO:<bob>", 250)
        command("DATA", 354)
        command(f"Subject: bs {token}\r\n\r\nfirst line\r\n..a line that starts with a dot\r\n"
                "last line\r\n.", 250)
        command("QUIT", 221)
        process.stdin.close()
        assert process.wait(kCommandSeconds) == 0
    finally:
        deadline.cancel()
        if process.poll() is None:
            process.kill()
            process.wait(10)
    raw, message = wait_landed("bob", token)
    assert message["Return-Path"] == f"<alice@{HOST}>", raw
    assert body_text(message) == "first line\n.a line that starts with a dot\nlast line\n", raw
    assert calls_with("sendmail") == [("alice", ["/usr/sbin/sendmail", "-bs"])]


def test_sendmail_f_by_a_user():
    """`sendmail -f someone@example.org alice` by alice: the -f sender is the Return-Path, and
    pickup's Received: names the real user by UID."""
    token = marker()
    clear_calls()
    # through /usr/lib/sendmail, the other path callers use
    check_ran(ROOT.run_as("alice", ["/usr/lib/sendmail", "-f", "someone@example.org", "alice"],
                          input=f"Subject: -f {token}\n\nbody {token}\n"))
    raw, message = wait_landed("alice", token)
    assert message["Return-Path"] == "<someone@example.org>", raw
    uid = pwd.getpwnam("alice").pw_uid
    assert re.search(rf"^Received: by \S+ \(Postern, from userid {uid}\)", raw, re.M), raw
    assert body_text(message) == f"body {token}\n", raw
    assert calls_with("sendmail") == [
        ("alice", ["/usr/lib/sendmail", "-f", "someone@example.org", "alice"])]


def test_mailq_on_an_empty_queue():
    """mailq (the /usr/bin/mailq symlink) as root on an empty queue, as Postfix prints it."""
    wait_until(lambda: not SUITE.queue_files(), kLandSeconds, what="an empty queue")
    clear_calls()
    result = check_ran(subprocess.run(["mailq"], capture_output=True, text=True,
                                      timeout=kCommandSeconds))
    assert result.stdout == "Mail queue is empty\n", result
    assert calls_with("mailq") == [("root", ["/usr/bin/mailq"])], ROOT.sendmail_calls()


def main():
    global ROOT, SUITE
    system_root.enter()
    missing = [p for p in kPrograms if shutil.which(p) is None]
    if missing:
        skip_test(f"not installed: {', '.join(missing)} (scripts/install-deps)")
    with system_root.SystemRoot() as root:
        ROOT = root
        root.add_user("alice", full_name="Alice Liddell")
        root.add_user("bob", full_name="Bob Bobson")
        with open("/etc/aliases", "w") as f:  # the sandbox's, as Debian ships it plus root's
            f.write("# /etc/aliases\nmailer-daemon: postmaster\npostmaster: root\n"
                    "root: alice\n")
        with Suite(main_cf_extra=root.main_cf_extra(), daemon_directory=root.bin_dir,
                   alias_maps="hash:/etc/aliases") as suite:
            SUITE = suite
            root.install_sendmail(suite, HOST)
            # As a package's postinst does: the real newaliases (Postfix's /usr/bin/newaliases
            # symlink to /usr/sbin/sendmail, here the wrapper around ours).
            check_ran(subprocess.run(["newaliases"], capture_output=True, text=True,
                                     timeout=kCommandSeconds))
            try:
                postern_harness.run_tests([
                    test_cron_reboot_job_mails_its_owner,
                    test_anacron_job_mails_mailto,
                    test_bsd_mailx_as_a_user,
                    test_mutt_batch_mode,
                    test_git_send_email_with_sendmail_transport,
                    test_php_mail_function,
                    test_unattended_upgrades_report_to_root,
                    test_sendmail_bs_with_dot_stuffing,
                    test_sendmail_f_by_a_user,
                    test_mailq_on_an_empty_queue,
                ])
            except SystemExit as done:  # run_tests ends with sys.exit: stop the suite first
                exit_code = done.code
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
