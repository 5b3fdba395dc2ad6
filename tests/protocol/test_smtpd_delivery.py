"""smtpd end to end with real clients (swaks, python3 smtplib) and a raw socket: delivery into
the Maildir with the trace headers, the recipient checks at RCPT (unknown user, relay refusal,
mynetworks, postmaster), SMTPUTF8 and the envelope order rules. Runs the whole suite (master,
smtpd, qmgr, delivery) on a loopback port in a temporary directory."""
import os
import re
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postern_harness  # noqa: E402
from postern_harness import Suite  # noqa: E402
from smtpd_wire import Wire, maildir_body  # noqa: E402

RECEIVED_RE = re.compile(
    r"from (\S+) \(unknown \[127\.0\.0\.1\]\)\n\tby mx\.example\.test \(Postern\) with (\S+) "
    r"id ([0-9A-Z]{16})\n\t(?:for <([^>]+)>; )?\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$")


def swaks(port, *args):
    cmd = ["swaks", "--server", f"127.0.0.1:{port}", "--timeout", "20", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_swaks_delivery_with_trace_headers():
    with Suite() as suite:
        result = swaks(suite.smtp_port, "--from", "sender@remote.test", "--to",
                       "demo@example.test", "--helo", "swaks.remote.test", "--header",
                       "Subject: via swaks", "--body", "Hello from swaks")
        assert result.returncode == 0, result.stdout + result.stderr
        queued = re.search(r"<[-~]  250 2\.0\.0 Ok: queued as ([0-9A-Z]{16})", result.stdout)
        assert queued, result.stdout
        queue_id = queued.group(1)
        [path] = suite.wait_for_mail("demo@example.test", 1)
        body, fields = maildir_body(path)
        assert fields["Return-Path"] == "<sender@remote.test>", fields
        assert fields["Delivered-To"] == "demo@example.test", fields
        match = RECEIVED_RE.match(fields["Received"])
        assert match, fields["Received"]
        assert match.group(1) == "swaks.remote.test"
        assert match.group(2) == "ESMTP"
        assert match.group(3) == queue_id
        assert match.group(4) == "demo@example.test"
        assert b"Subject: via swaks" in body and b"Hello from swaks" in body
        assert f"{queue_id}: client=unknown[127.0.0.1]" in suite.log()


def test_smtplib_delivery_alias_to_two_users():
    with Suite() as suite:
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
            code, _ = client.ehlo("smtplib.remote.test")
            assert code == 250
            for word in ("PIPELINING", "8BITMIME", "SIZE", "ENHANCEDSTATUSCODES", "SMTPUTF8",
                         "CHUNKING", "DSN", "STARTTLS"):
                assert client.has_extn(word), word
            refused = client.sendmail("sender@remote.test", ["team@example.test", "demo@example.test"],
                                      b"Subject: to several\r\n\r\nbody line\r\n")
            assert refused == {}
        for user in ("alice", "bob", "demo"):
            [path] = suite.wait_for_mail(f"{user}@example.test", 1)
            body, fields = maildir_body(path)
            assert fields["Return-Path"] == "<sender@remote.test>"
            match = RECEIVED_RE.match(fields["Received"])
            assert match, fields["Received"]
            assert match.group(4) is None, "two recipients: no 'for <...>'"
            assert body == b"Subject: to several\n\nbody line\n", body


def test_unknown_user_and_relay_refused():
    with Suite() as suite:
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
            client.ehlo("smtplib.remote.test")
            assert client.mail("sender@remote.test")[0] == 250
            code, text = client.rcpt("nobody@example.test")
            assert (code, text) == (550, b"5.1.1 <nobody@example.test>: Recipient address "
                                         b"rejected: User unknown"), (code, text)
            code, text = client.rcpt("someone@elsewhere.test")
            assert (code, text) == (554, b"5.7.1 <someone@elsewhere.test>: Relay access denied")
            # Loopback is not trusted by default: no relaying from 127.0.0.1 either way.
            code, _ = client.rcpt("someone@[192.0.2.1]")
            assert code == 554
            assert client.rcpt("demo@example.test")[0] == 250
            assert client.data(b"Subject: after rejects\r\n\r\nok\r\n")[0] == 250
        suite.wait_for_mail("demo@example.test", 1)
        log = suite.log()
        assert ("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1 <someone@elsewhere.test>: "
                "Relay access denied; from=<sender@remote.test> to=<someone@elsewhere.test> "
                "proto=ESMTP helo=<smtplib.remote.test>") in log, log[-3000:]
        # swaks sees the same refusals.
        result = swaks(suite.smtp_port, "--from", "a@remote.test", "--to", "ghost@example.test")
        assert "<** 550 5.1.1" in result.stdout, result.stdout
        result = swaks(suite.smtp_port, "--from", "a@remote.test", "--to", "x@elsewhere.test")
        assert "<** 554 5.7.1" in result.stdout, result.stdout


def test_mynetworks_allows_relaying():
    with Suite(main_cf_extra="mynetworks = 10.0.0.0/8, [::1]/128 127.0.0.0/8") as suite:
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
            client.ehlo("trusted.example.net")
            assert client.mail("cron@trusted.example.net")[0] == 250
            assert client.rcpt("admin@elsewhere.test")[0] == 250
            # Our own domain is still checked.
            assert client.rcpt("nobody@example.test")[0] == 550


def test_postmaster_always_accepted():
    with Suite() as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.command("MAIL FROM:<>", 250)
            wire.command("RCPT TO:<Postmaster>", 250)
            wire.command("RCPT TO:<postmaster@example.test>", 250)
            wire.command("DATA", 354)
            wire.send("Subject: to the postmaster\r\n\r\nhello\r\n.\r\n")
            wire.expect(250, "queued as")
            wire.command("QUIT", 221)
        # postmaster: demo@example.test in the test accounts; both recipients land there.
        paths = suite.wait_for_mail("demo@example.test", 1)
        body, fields = maildir_body(paths[0])
        assert fields["Return-Path"] == "<>"
        assert b"hello" in body


def test_smtputf8():
    with Suite() as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            # Without SMTPUTF8 a UTF-8 address is refused...
            wire.command("MAIL FROM:<jos\u00e9@remote.test>", 501)
            wire.command("MAIL FROM:<a@remote.test>", 250)
            wire.command("RCPT TO:<d\u00e9mo@example.test>", 501)
            wire.command("RSET", 250)
            # ...and accepted with it.
            wire.command("MAIL FROM:<jos\u00e9@r\u00e9mote.test> SMTPUTF8", 250)
            wire.command("RCPT TO:<demo@example.test>", 250)
            wire.command("RCPT TO:<\u00fcnknown@example.test>", 550)
            wire.command("DATA", 354)
            wire.send("Subject: caf\u00e9\r\n\r\nUTF-8 body \u2713\r\n.\r\n")
            wire.expect(250, "queued as")
        [path] = suite.wait_for_mail("demo@example.test", 1)
        body, fields = maildir_body(path)
        assert fields["Return-Path"] == "<jos\u00e9@r\u00e9mote.test>", fields
        assert " with UTF8SMTP id " in fields["Received"], fields["Received"]
        assert body == "Subject: caf\u00e9\n\nUTF-8 body \u2713\n".encode()


def test_command_order_and_misc_commands():
    with Suite() as suite:
        with Wire(suite.smtp_port) as wire:
            wire.expect(220, "mx.example.test ESMTP Postern")
            wire.command("MAIL FROM:<a@remote.test>", 503, "5.5.1")
            wire.command("HELO client.example.net", 250, "mx.example.test")
            wire.command("RCPT TO:<demo@example.test>", 503, "5.5.1 Error: need MAIL command")
            wire.command("DATA", 503, "5.5.1")
            wire.command("MAIL FROM:<a@remote.test>", 250)
            wire.command("MAIL FROM:<a@remote.test>", 503, "nested MAIL")
            wire.command("DATA", 554, "no valid recipients")
            wire.command("VRFY demo", 252)
            wire.command("EXPN team", 502)
            wire.command("HELP", 214)
            wire.command("NOOP", 250, "2.0.0")
            wire.command("AUTH PLAIN", 503)
            wire.command("FOO bar", 500, "5.5.2")
            wire.command("MAIL FROM:<a@remote.test> FOO=bar", 503)  # still nested
            wire.command("RSET", 250)
            wire.command("MAIL FROM:<a@remote.test> FOO=bar", 555, "5.5.4")
            wire.command("MAIL FROM:<a@remote.test> BODY=8BITMIME RET=HDRS ENVID=abc+2Bd", 250)
            wire.command("RCPT TO:<demo@example.test> NOTIFY=SUCCESS,FAILURE "
                         "ORCPT=rfc822;demo@example.test", 250)
            wire.command("RCPT TO:<demo@example.test> NOTIFY=NEVER,SUCCESS", 501)
            wire.command("QUIT", 221, "Bye")
            assert wire.closed_by_peer()


if __name__ == "__main__":
    postern_harness.run_tests([
        test_swaks_delivery_with_trace_headers,
        test_smtplib_delivery_alias_to_two_users,
        test_unknown_user_and_relay_refused,
        test_mynetworks_allows_relaying,
        test_postmaster_always_accepted,
        test_smtputf8,
        test_command_order_and_misc_commands,
    ])
