"""Real clients submit through postern-submission, on the 587-style port (STARTTLS, then AUTH)
and the 465-style port (TLS from the first byte), with AUTH PLAIN and LOGIN: swaks, msmtp, curl,
python3's smtplib and nodemailer. Each message lands in the recipient's Maildir with a Received
header that says ESMTPSA and does not name the login, and with exactly one Message-ID and Date:
the client's own, or ours when the client sent none. Whole suite on loopback."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postern_harness  # noqa: E402
from submission_support import (PASSWORD, check_submitted, client_context,  # noqa: E402
                                starttls_client, submission_suite, wait_for_subject)
import smtplib  # noqa: E402

NODE_DIR = os.path.join(os.path.abspath(postern_harness.SOURCE_DIR), "tests", "node")


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, **kwargs)
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result


def message_file(suite, subject, name):
    path = os.path.join(suite.root, name)
    with open(path, "w") as f:
        f.write(f"From: Alice <alice@example.test>\r\nTo: bob@example.test\r\n"
                f"Subject: {subject}\r\n\r\nsent by {name}\r\n")
    return path


def test_swaks():
    with submission_suite() as suite:
        cases = [("--tls", suite.submission_port, "PLAIN", "alice@example.test"),
                 ("--tlsc", suite.submissions_port, "LOGIN", "alice")]
        for tls, port, method, user in cases:
            subject = f"swaks {tls} {method}"
            result = run(["swaks", "--server", f"127.0.0.1:{port}", tls, "--auth", method,
                          "--auth-user", user, "--auth-password", PASSWORD, "--from",
                          "alice@example.test", "--to", "bob@example.test", "--header",
                          f"Subject: {subject}", "--timeout", "20"])
            assert "<~  250 2.0.0 Ok: queued as" in result.stdout, result.stdout
            assert "235 2.7.0 Authentication successful" in result.stdout, result.stdout
            check_submitted(wait_for_subject(suite, "bob@example.test", subject),
                            "alice@example.test", added_by_us=False)  # swaks sends both


def test_msmtp():
    with submission_suite() as suite:
        cases = [("on", suite.submission_port, "plain", f"tls_trust_file {suite.cert}\n"
                  "tls_host_override mx.example.test\n"),
                 ("off", suite.submissions_port, "login", "tls_certcheck off\n")]
        for starttls, port, method, trust in cases:
            subject = f"msmtp starttls {starttls} {method}"
            config = os.path.join(suite.root, f"msmtprc-{method}")
            with open(config, "w") as f:
                f.write(f"account default\nhost 127.0.0.1\nport {port}\ntls on\n"
                        f"tls_starttls {starttls}\n{trust}auth {method}\n"
                        f"user alice@example.test\npassword {PASSWORD}\n"
                        "from alice@example.test\n"
                        # So that the Message-ID and Date in the Maildir are ours.
                        "set_msgid_header off\nset_date_header off\n")
            os.chmod(config, 0o600)
            with open(message_file(suite, subject, f"msmtp-{method}.eml"), "rb") as body:
                run(["msmtp", "-C", config, "bob@example.test"], stdin=body)
            check_submitted(wait_for_subject(suite, "bob@example.test", subject),
                            "alice@example.test", added_by_us=True)


def test_curl():
    with submission_suite() as suite:
        cases = [(f"smtp://127.0.0.1:{suite.submission_port}", ["--ssl-reqd"], "PLAIN"),
                 (f"smtps://127.0.0.1:{suite.submissions_port}", [], "LOGIN")]
        for url, extra, method in cases:
            subject = f"curl {url.split(':')[0]} {method}"
            run(["curl", "--silent", "--show-error", "--max-time", "30", "--url", url] + extra +
                ["--cacert", suite.cert, "--insecure", "--login-options", f"AUTH={method}",
                 "--user", f"alice@example.test:{PASSWORD}", "--mail-from",
                 "alice@example.test", "--mail-rcpt", "bob@example.test", "--upload-file",
                 message_file(suite, subject, f"curl-{method}.eml")])
            check_submitted(wait_for_subject(suite, "bob@example.test", subject),
                            "alice@example.test", added_by_us=True)


def test_smtplib():
    with submission_suite() as suite:
        body = "From: alice@example.test\r\nSubject: {}\r\n\r\nfrom smtplib\r\n"
        with starttls_client(suite) as client:
            assert client.has_extn("auth") and "PLAIN" in client.esmtp_features["auth"]
            client.login("alice@example.test", PASSWORD)  # smtplib picks PLAIN
            client.sendmail("alice@example.test", ["bob@example.test"],
                            body.format("smtplib starttls PLAIN"))
        with smtplib.SMTP_SSL("127.0.0.1", suite.submissions_port, timeout=20,
                              context=client_context()) as client:
            client.ehlo("client.example.net")
            client.user, client.password = "alice", PASSWORD
            code, _ = client.auth("LOGIN", client.auth_login)
            assert code == 235
            client.sendmail("alice@example.test", ["bob@example.test"],
                            body.format("smtplib ssl LOGIN"))
        for subject in ("smtplib starttls PLAIN", "smtplib ssl LOGIN"):
            check_submitted(wait_for_subject(suite, "bob@example.test", subject),
                            "alice@example.test", added_by_us=True)


def test_nodemailer():
    node = shutil.which("node")
    assert node, "node is not installed (scripts/install-deps)"
    with submission_suite() as suite:
        env = dict(os.environ, NODE_PATH=os.path.join(NODE_DIR, "node_modules"))
        cases = [(suite.submission_port, False, "PLAIN"), (suite.submissions_port, True, "LOGIN")]
        for port, secure, method in cases:
            subject = f"nodemailer secure={secure} {method}"
            options = {"port": port, "secure": secure, "user": "alice@example.test",
                       "pass": PASSWORD, "method": method, "from": "alice@example.test",
                       "to": "bob@example.test", "subject": subject, "text": "from node",
                       "ca": suite.cert}
            result = run([node, os.path.join(NODE_DIR, "submission_client.js"),
                          json.dumps(options)], env=env)
            assert json.loads(result.stdout)["response"].startswith("250 2.0.0 Ok: queued as")
            check_submitted(wait_for_subject(suite, "bob@example.test", subject),
                            "alice@example.test", added_by_us=False)  # nodemailer sends both


if __name__ == "__main__":
    postern_harness.run_tests([test_swaks, test_msmtp, test_curl, test_smtplib, test_nodemailer])
