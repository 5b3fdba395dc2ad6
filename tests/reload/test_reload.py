"""SIGHUP to postern-master: a new accounts.yaml is taken, a broken main.cf or master.cf is
refused (at start: a file:line message and a non-zero exit; at reload: the running
configuration stays), and the listeners stay open through a reload, so no client is refused and
a session opened before the reload can finish its message. Runs the real suite on loopback."""
import os
import smtplib
import socket
import subprocess
import threading

import postern_harness
from postern_harness import Suite, default_accounts, wait_until


def send(suite, rcpt, subject):
    """Sends one message. A session that lands on an smtpd retiring after a reload is told
    "421 shutting down" (or closed) before anything is queued: that one is sent again."""
    body = (f"From: sender@example.net\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\n"
            f"body of {subject}\r\n")

    def sent():
        try:
            with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=15) as client:
                client.ehlo("client.example.net")
                client.sendmail("sender@example.net", [rcpt], body)
            return True
        except smtplib.SMTPServerDisconnected:
            return False
        except smtplib.SMTPResponseException as e:
            if e.smtp_code == 421:
                return False
            raise
    wait_until(sent, 20, 0.1, what=f"a message to {rcpt} accepted")


def rcpt_reply(suite, rcpt):
    """(code, text) of RCPT TO:<rcpt> in a fresh session."""
    with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=15) as client:
        client.ehlo("client.example.net")
        code, _ = client.mail("sender@example.net")
        assert code == 250, code
        code, text = client.rcpt(rcpt)
        client.rset()
        return code, text.decode(errors="replace")


def rcpt_accepted(suite, rcpt):
    """For polling across a reload: a session that lands on a retiring smtpd may be told
    "421 shutting down" (or closed); that is a retry, not an answer."""
    try:
        return rcpt_reply(suite, rcpt)[0] == 250
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException):
        return False


def listener_inode(pid):
    """The socket inode behind a worker's fd 3 (the listener master handed it)."""
    return os.readlink(f"/proc/{pid}/fd/3")


def test_user_added_to_accounts_is_accepted_after_sighup():
    with Suite(accounts=default_accounts(users=("demo",))) as suite:
        code, text = rcpt_reply(suite, "carol@example.test")
        assert code == 550 and "5.1.1" in text, (code, text)
        suite.write_accounts(default_accounts(users=("demo", "carol")))
        # Not before the reload: the file alone changes nothing.
        code, text = rcpt_reply(suite, "carol@example.test")
        assert code == 550, (code, text)
        suite.reload()
        wait_until(lambda: rcpt_accepted(suite, "carol@example.test"), 20, 0.1,
                   what="carol accepted after SIGHUP")
        send(suite, "carol@example.test", "hello carol")
        suite.wait_for_mail("carol@example.test", 1)
        assert rcpt_reply(suite, "demo@example.test")[0] == 250


def broken_main_cf(suite, line_number):
    """The suite's main.cf with "message_size_limit = lots" as line line_number."""
    lines = suite.main_cf_text().splitlines()
    lines.insert(line_number - 1, "message_size_limit = lots")
    return "\n".join(lines) + "\n"


def test_broken_main_cf_at_start_names_file_and_line():
    with Suite(start=False) as suite:
        with open(os.path.join(suite.etc, "main.cf"), "w") as f:
            f.write(broken_main_cf(suite, 7))
        result = subprocess.run(suite.master_command(), capture_output=True, text=True,
                                timeout=30)
        assert result.returncode != 0, result
        assert "main.cf:7" in result.stderr, result.stderr
        assert "message_size_limit" in result.stderr, result.stderr
        assert not suite.worker_pids(any_parent=True), "a worker was started anyway"
        try:
            socket.create_connection(("127.0.0.1", suite.smtp_port), timeout=2).close()
            listening = True
        except OSError:
            listening = False
        assert not listening, "smtp port bound although main.cf is broken"


def test_broken_main_cf_at_sighup_keeps_the_old_config():
    with Suite() as suite:
        before = sorted(wait_until(lambda: suite.worker_pids("smtpd"), 20, what="smtpd"))
        with open(os.path.join(suite.etc, "main.cf"), "w") as f:
            f.write(broken_main_cf(suite, 9))
        suite.reload()
        wait_until(lambda: "reload failed" in suite.log(), 20, what="reload failure logged")
        failure = [l for l in suite.log().splitlines() if "reload failed" in l]
        assert "main.cf:9" in failure[0], failure
        assert suite.process.poll() is None, "master exited on a broken reload"
        assert sorted(suite.worker_pids("smtpd")) == before, "workers restarted anyway"
        send(suite, "demo@example.test", "after a failed reload")
        suite.wait_for_mail("demo@example.test", 1)
        # A worker started now runs the configuration master runs, not the broken file.
        killed = suite.kill_worker("smtpd")
        wait_until(lambda: [p for p in suite.worker_pids("smtpd") if p not in killed] or None,
                   20, what="smtpd restarted")
        send(suite, "demo@example.test", "from a worker started after the failed reload")
        suite.wait_for_mail("demo@example.test", 2)
        assert "fatal:" not in suite.log(), "a worker refused the broken main.cf"


def test_broken_master_cf_or_accounts_at_sighup_keeps_the_old_config():
    with Suite() as suite:
        for name, text in (("master.cf", "nonsense inet n\n"),
                           ("accounts.yaml", "domains: [not, a, map\n")):
            path = os.path.join(suite.etc, name)
            good = open(path).read()
            with open(path, "w") as f:
                f.write(text)
            failures = suite.log().count("reload failed")
            suite.reload()
            wait_until(lambda: suite.log().count("reload failed") > failures, 20,
                       what=f"reload failure for {name}")
            last = [l for l in suite.log().splitlines() if "reload failed" in l][-1]
            assert name in last, last
            with open(path, "w") as f:
                f.write(good)
            assert suite.process.poll() is None
            assert rcpt_reply(suite, "bob@example.test")[0] == 250


def test_listeners_stay_open_across_reload():
    with Suite() as suite:
        old = sorted(wait_until(lambda: suite.worker_pids("smtpd"), 20, what="smtpd"))
        inode_before = listener_inode(old[0])

        # A message half-way through DATA when the reload happens: in-flight work.
        session = smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=15)
        session.ehlo("early.example.net")
        assert session.mail("sender@example.net")[0] == 250
        assert session.rcpt("bob@example.test")[0] == 250
        session.putcmd("data")
        assert session.getreply()[0] == 354
        session.send(b"Subject: in flight\r\n\r\nstarted before the reload,\r\n")

        # Meanwhile a client connects again and again: none may be refused.
        results = {"ok": 0, "failed": []}
        stop = threading.Event()

        def hammer():
            while not stop.is_set() and results["ok"] < 100000:
                try:
                    with socket.create_connection(("127.0.0.1", suite.smtp_port),
                                                  timeout=10) as conn:
                        greeting = conn.recv(512)
                        conn.sendall(b"QUIT\r\n")
                    if greeting.startswith(b"220"):
                        results["ok"] += 1
                    else:
                        results["failed"].append(greeting[:100])
                except OSError as exc:
                    results["failed"].append(repr(exc))
        thread = threading.Thread(target=hammer)
        thread.start()
        try:
            wait_until(lambda: results["ok"] >= 3, 20, what="connections before the reload")
            suite.reload()
            fresh = wait_until(
                lambda: [p for p in suite.worker_pids("smtpd") if p not in old] or None,
                20, what="new smtpd after SIGHUP")
            count = results["ok"]
            wait_until(lambda: results["ok"] >= count + 3, 20,
                       what="connections after the reload")
        finally:
            stop.set()
            thread.join(30)
        assert not results["failed"], results["failed"][:5]
        # The new workers listen on the very same socket: it was kept, not bound again.
        assert listener_inode(fresh[0]) == inode_before

        # The early session finishes its message on the old worker.
        session.send(b"finished after it.\r\n.\r\n")
        code, text = session.getreply()
        assert code == 250, (code, text)
        session.quit()
        suite.wait_for_mail("bob@example.test", 1)


if __name__ == "__main__":
    postern_harness.run_tests([
        test_user_added_to_accounts_is_accepted_after_sighup,
        test_broken_main_cf_at_start_names_file_and_line,
        test_broken_main_cf_at_sighup_keeps_the_old_config,
        test_broken_master_cf_or_accounts_at_sighup_keeps_the_old_config,
        test_listeners_stay_open_across_reload,
    ])
