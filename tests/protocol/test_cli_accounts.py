"""`postern user|alias|domain` against a running suite and a stopped one (postern(8),
postern-accounts(5)).

- `user add --password-stdin` while the suite runs: the command returns once master has loaded
  the new accounts, and the user logs in at once over submission (STARTTLS + AUTH) and IMAP,
  without a restart; the password is in neither the command's /proc/PID/cmdline nor the file,
  which keeps its mode 0600 and holds a yescrypt hash.
- the same through the terminal prompt (a pseudo-terminal: asked twice, echo off); two
  different answers change nothing; Ctrl-C at the prompt leaves the terminal's echo on.
- `user passwd`: the old password is refused, the new one accepted.
- `user|alias|domain list --json`, parsed and checked; no hash in any listing.
- `alias add`, then mail to the alias over smtpd lands in the target's Maildir; `alias del`.
- `domain add`, then mail for a user of the new domain is accepted and delivered; `domain del`
  refuses a domain in use (exit 1) unless --force.
- `user del`: RCPT for the user gets 550.
- with the suite stopped the edits go into the file ("not running" in the output) and work once
  it starts.
- exit statuses: 3 for unknown names, 6 when run as nobody (setpriv), 2 for usage errors (and
  no option takes a password).
"""
import imaplib
import json
import os
import pty
import pwd
import select
import signal
import smtplib
import stat
import subprocess
import termios
import time

from postern_harness import BIN_DIR, run_tests, wait_until
from submission_support import client_context, submission_suite

POSTERN = os.path.join(BIN_DIR, "postern")


def cli(suite, *args, stdin=None, user=None, timeout=60):
    command = [POSTERN, "-c", suite.etc, *args]
    if user:
        command = ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}",
                   "--clear-groups", *command]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout)


def accounts_path(suite):
    return os.path.join(suite.etc, "accounts.yaml")


def read_accounts(suite):
    with open(accounts_path(suite)) as f:
        return f.read()


def retrying(action, what):
    """Runs action() until it gives an answer: a session that lands on a worker retiring after
    a reload is told 421 or closed, which is a retry, not an answer."""
    result = {}

    def attempt():
        try:
            result["value"] = action()
            return True
        except (smtplib.SMTPServerDisconnected, ConnectionError, imaplib.IMAP4.abort):
            return False
        except smtplib.SMTPResponseException as e:
            if e.smtp_code == 421:
                return False
            raise
    wait_until(attempt, 30, 0.1, what)
    return result["value"]


def submission_login(suite, address, password):
    """True when AUTH succeeds on the 587-style port after STARTTLS, False on 535."""
    def action():
        with smtplib.SMTP("127.0.0.1", suite.submission_port, timeout=20) as client:
            code, reply = client.ehlo("client.example.net")
            if code == 421:  # a retiring worker's answer (smtplib does not raise on it)
                raise smtplib.SMTPServerDisconnected(reply)
            client.starttls(context=client_context())
            client.ehlo("client.example.net")
            try:
                client.login(address, password)
                return True
            except smtplib.SMTPAuthenticationError as e:
                assert e.smtp_code == 535, e
                return False
    return retrying(action, f"an AUTH answer for {address}")


def imap_login(suite, address, password):
    def action():
        client = imaplib.IMAP4_SSL("127.0.0.1", suite.imaps_port, ssl_context=client_context(),
                                   timeout=20)
        try:
            client.login(address, password)
            client.logout()
            return True
        except imaplib.IMAP4.error as e:
            if isinstance(e, imaplib.IMAP4.abort):
                raise
            return False
    return retrying(action, f"an IMAP LOGIN answer for {address}")


def rcpt_code(suite, rcpt):
    def action():
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
            client.ehlo("client.example.net")
            code, _ = client.mail("sender@example.net")
            assert code == 250, code
            code, _ = client.rcpt(rcpt)
            return code
    return retrying(action, f"an RCPT answer for {rcpt}")


def send(suite, rcpt, subject):
    body = f"From: sender@example.net\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nhello\r\n"

    def action():
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
            client.ehlo("client.example.net")
            client.sendmail("sender@example.net", [rcpt], body)
        return True
    retrying(action, f"a message to {rcpt} accepted")


def subjects(suite, address):
    found = []
    for path in suite.messages(address):
        with open(path, "rb") as f:
            for line in f.read().split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n").split(b"\n"):
                if line.startswith(b"Subject: "):
                    found.append(line[9:].decode())
    return found


def user_add_via_stdin(suite, address, password, *extra):
    """Runs `user add ADDRESS --password-stdin` and checks, while it waits for its stdin, that
    the password is nowhere on its command line."""
    process = subprocess.Popen([POSTERN, "-c", suite.etc, "user", "add", address,
                                "--password-stdin", *extra], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with open(f"/proc/{process.pid}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    assert password.encode() not in b"\0".join(argv), argv
    out, err = process.communicate(password + "\n", timeout=60)
    return process.returncode, out, err


def check_file_safe(suite, *passwords):
    st = os.stat(accounts_path(suite))
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_uid == os.geteuid(), st.st_uid
    text = read_accounts(suite)
    for password in passwords:
        assert password not in text, "a password in clear in the accounts file"
    assert not [n for n in os.listdir(suite.etc) if n.startswith(".accounts.yaml.")], \
        "a temporary file was left behind"
    return text


def test_user_add_passwd_and_lists_while_running():
    with submission_suite() as suite:
        os.chmod(accounts_path(suite), 0o600)
        password = "Carol-first-pw-1"
        assert not submission_login(suite, "carol@example.test", password)
        code, out, err = user_add_via_stdin(suite, "Carol@Example.TEST", password)
        assert code == 0, (code, out, err)
        assert "carol@example.test added" in out and "has loaded it" in out, out
        # No wait, no restart: the command returned after master loaded the accounts.
        assert submission_login(suite, "carol@example.test", password)
        assert imap_login(suite, "carol@example.test", password)
        text = check_file_safe(suite, password)
        assert '"$y$' in text, text  # yescrypt
        assert text.startswith("postmaster:") or "# Below this block" in text, text

        new_password = "Carol-second-pw-2"
        changed = cli(suite, "user", "passwd", "carol@example.test", "--password-stdin",
                      stdin=new_password + "\n")
        assert changed.returncode == 0, changed
        assert not submission_login(suite, "carol@example.test", password)
        assert submission_login(suite, "carol@example.test", new_password)
        assert imap_login(suite, "carol@example.test", new_password)
        check_file_safe(suite, password, new_password)

        users = cli(suite, "user", "list", "--json")
        assert users.returncode == 0, users
        listed = json.loads(users.stdout)
        assert {u["address"] for u in listed} == {
            "demo@example.test", "alice@example.test", "bob@example.test",
            "carol@example.test"}, listed
        assert all(u["login"] is True and u["domain"] == "example.test" for u in listed), listed
        assert "$" not in users.stdout and "password" not in users.stdout, users.stdout
        aliases = json.loads(cli(suite, "alias", "list", "--json").stdout)
        assert {a["address"]: a["targets"] for a in aliases} == {
            "info@example.test": ["demo@example.test"],
            "team@example.test": ["alice@example.test", "bob@example.test"]}, aliases
        domains = json.loads(cli(suite, "domain", "list", "--json").stdout)
        assert domains == [{"domain": "example.test", "users": 4, "aliases": 2,
                            "catch_all": []}], domains
        text_list = cli(suite, "user", "list", "example.test")
        assert text_list.returncode == 0 and "carol@example.test\n" in text_list.stdout, text_list
        assert "reload failed" not in suite.log(), suite.log()[-3000:]


def test_terminal_prompt():
    with submission_suite() as suite:
        os.chmod(accounts_path(suite), 0o600)

        def run_on_terminal(answers):
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(POSTERN, [POSTERN, "-c", suite.etc, "user", "add", "erin@example.test"])
            seen = b""
            for answer in answers:
                prompt = b"Retype it: " if b"New password" in seen else b"New password for "
                deadline = time.monotonic() + 30
                while prompt not in seen and time.monotonic() < deadline:
                    if select.select([fd], [], [], 1)[0]:
                        seen += os.read(fd, 1024)
                assert prompt in seen, seen
                os.write(fd, answer.encode() + b"\n")
                time.sleep(0.05)  # let it print the next prompt before we look again
            output = b""
            while True:
                try:
                    chunk = os.read(fd, 1024)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            _, status = os.waitpid(pid, 0)
            os.close(fd)
            return os.waitstatus_to_exitcode(status), seen + output

        before = read_accounts(suite)
        # Ctrl-C at the prompt: the command dies of SIGINT and the terminal has its echo back.
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(POSTERN, [POSTERN, "-c", suite.etc, "user", "add", "erin@example.test"])
        seen = b""
        deadline = time.monotonic() + 30
        while b"New password for " not in seen and time.monotonic() < deadline:
            if select.select([fd], [], [], 1)[0]:
                seen += os.read(fd, 1024)
        assert not termios.tcgetattr(fd)[3] & termios.ECHO, "echo on during the prompt"
        os.write(fd, b"half-typed\x03")
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT, status
        assert termios.tcgetattr(fd)[3] & termios.ECHO, "echo left off after Ctrl-C"
        os.close(fd)
        assert read_accounts(suite) == before

        code, output = run_on_terminal(["erin-pw-one", "erin-pw-two"])
        assert code == 1 and b"differ" in output, (code, output)
        assert read_accounts(suite) == before
        code, output = run_on_terminal(["Erin-typed-pw", "Erin-typed-pw"])
        assert code == 0, (code, output)
        assert b"Erin-typed-pw" not in output, output  # echo was off
        assert submission_login(suite, "erin@example.test", "Erin-typed-pw")
        check_file_safe(suite, "Erin-typed-pw")


def test_alias_domain_and_user_del_change_mail_routing():
    with submission_suite() as suite:
        os.chmod(accounts_path(suite), 0o600)
        assert rcpt_code(suite, "sales@example.test") == 550
        added = cli(suite, "alias", "add", "sales@example.test", "alice", "bob@example.test")
        assert added.returncode == 0, added
        send(suite, "sales@example.test", "to the sales alias")
        for user in ("alice@example.test", "bob@example.test"):
            wait_until(lambda: "to the sales alias" in subjects(suite, user), 30, 0.05,
                       f"the alias's copy for {user}")
        removed = cli(suite, "alias", "del", "sales@example.test", "bob")
        assert removed.returncode == 0, removed
        aliases = json.loads(cli(suite, "alias", "list", "example.test", "--json").stdout)
        assert {"address": "sales@example.test", "targets": ["alice@example.test"]} in aliases
        assert cli(suite, "alias", "del", "sales@example.test").returncode == 0
        assert rcpt_code(suite, "sales@example.test") == 550

        assert rcpt_code(suite, "dave@new.test") != 250  # not ours: relaying refused
        assert cli(suite, "domain", "add", "new.test").returncode == 0
        code, out, err = user_add_via_stdin(suite, "dave@new.test", "Dave-pw-1")
        assert code == 0, (out, err)
        send(suite, "dave@new.test", "for the new domain")
        wait_until(lambda: "for the new domain" in subjects(suite, "dave@new.test"), 30, 0.05,
                   "mail in dave@new.test's Maildir")
        busy = cli(suite, "domain", "del", "new.test")
        assert busy.returncode == 1 and "--force" in busy.stderr, busy
        forced = cli(suite, "domain", "del", "new.test", "--force")
        assert forced.returncode == 0, forced
        assert rcpt_code(suite, "dave@new.test") != 250

        assert rcpt_code(suite, "bob@example.test") == 250
        deleted = cli(suite, "user", "del", "bob@example.test")
        assert deleted.returncode == 0, deleted
        assert rcpt_code(suite, "bob@example.test") == 550
        check_file_safe(suite)


def test_edits_with_the_suite_stopped():
    with submission_suite(start=False) as suite:
        os.chmod(accounts_path(suite), 0o600)
        code, out, err = user_add_via_stdin(suite, "frank@other.test", "Frank-pw-1",
                                            "--create-domain")
        assert code == 0, (out, err)
        assert "not running" in out and "when it starts" in out, out
        done = cli(suite, "alias", "add", "desk@other.test", "frank")
        assert done.returncode == 0 and "not running" in done.stdout, done
        check_file_safe(suite, "Frank-pw-1")
        suite.start()
        assert submission_login(suite, "frank@other.test", "Frank-pw-1")
        send(suite, "desk@other.test", "to the desk")
        wait_until(lambda: "to the desk" in subjects(suite, "frank@other.test"), 30, 0.05,
                   "the desk alias's copy")


def test_exit_statuses():
    with submission_suite(start=False) as suite:
        os.chmod(accounts_path(suite), 0o600)
        before = read_accounts(suite)
        for args in (["user", "del", "ghost@example.test"],
                     ["user", "passwd", "ghost@example.test", "--password-stdin"],
                     ["user", "add", "x@nowhere.test", "--password-stdin"],
                     ["user", "list", "nowhere.test"],
                     ["alias", "del", "ghost@example.test"],
                     ["alias", "del", "info@example.test", "nobody"],
                     ["alias", "add", "x@nowhere.test", "demo"],
                     ["domain", "del", "nowhere.test"]):
            done = cli(suite, *args, stdin="Some-pw-1\n")
            assert done.returncode == 3, (args, done)
        for args in (["user"], ["user", "add"], ["user", "frob"],
                     ["user", "add", "not-an-address"], ["user", "add", "a..b@example.test"],
                     ["user", "add", "x@example.test", "--password", "secret"],
                     ["user", "add", "x@example.test", "--password=secret"],
                     ["user", "add", "x@example.test", "secret"],
                     ["alias", "add", "x@example.test"], ["domain", "add", "bad_domain"],
                     ["domain", "list", "extra"], ["user", "del", "x@example.test", "--force"],
                     ["user", "add", ("a" * 70) + "@example.test"]):
            done = cli(suite, *args, stdin="Some-pw-1\n")
            assert done.returncode == 2, (args, done)
        if os.geteuid() == 0:
            for args in (["user", "add", "x@example.test", "--password-stdin"],
                         ["user", "del", "demo@example.test"],
                         ["alias", "add", "x@example.test", "demo"],
                         ["domain", "add", "other.test"]):
                done = cli(suite, *args, stdin="Some-pw-1\n", user="nobody")
                assert done.returncode == 6 and "only root or" in done.stderr, (args, done)
        assert read_accounts(suite) == before
        assert "--password-stdin" in cli(suite, "user", "--help").stdout
        assert "--password " not in cli(suite, "user", "--help").stdout


if __name__ == "__main__":
    run_tests([test_user_add_passwd_and_lists_while_running, test_terminal_prompt,
               test_alias_domain_and_user_del_change_mail_routing, test_edits_with_the_suite_stopped,
               test_exit_statuses])
