#!/usr/bin/env python3
"""Mail from the network for the system users of mydestination, as an internet site of Postfix
receives it (local_recipient_maps = unix:passwd.byname $alias_maps): from 127.0.0.1, which is
not trusted, RCPT to root (a system user of every Debian machine), to postmaster, to a name of
the suite's aliases file, and with a +extension, at a test host name in mydestination, gets 250;
a user that does not exist gets 550 5.1.1 with Postfix's text (and the log line pflogsumm and
fail2ban read); other domains and sender routing through the host stay relay-refused. An alias
that points at a virtual user brings a message received on port 25 into that user's Maildir.
Submission shares the check. An empty local_recipient_maps accepts every local part (Postfix's
meaning); an entry smtpd cannot read is refused by postern-master -t and at the start, and stops
smtpd when a master.cf -o gives it, each with a line that names the entry.

Nothing is delivered to a system user: their RCPTs are only answered (then RSET), so no mail
reaches root's mailbox on this machine; the one delivery goes through an alias to a virtual
user of the suite."""
import os
import smtplib
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from postern_harness import Suite, run_tests, wait_until  # noqa: E402
from smtpd_wire import Wire  # noqa: E402
from submission_support import starttls_client  # noqa: E402

HOST = "sys.example.net"  # this test's mydestination: the "host name" of the system users
MAIN_CF = f"mydestination = {HOST}\n"
ALIASES = ("# aliases(5) of this test\n"
           "webmaster: root\n"
           "fwd: demo@example.test\n")
UNKNOWN_TEXT = ("5.1.1 <nosuchuser@sys.example.net>: Recipient address rejected: "
                "User unknown in local recipient table")


def rcpt_replies(port, recipients, sender="stranger@elsewhere.example"):
    """{recipient: (code, text)} for each RCPT in one transaction, then RSET: nothing queued."""
    wire = Wire(port)
    wire.greet()
    wire.command(f"MAIL FROM:<{sender}>", 250)
    replies = {}
    for recipient in recipients:
        wire.send(f"RCPT TO:<{recipient}>\r\n")
        code, lines = wire.reply()
        replies[recipient] = (code, " ".join(lines))
    wire.command("RSET", 250)
    wire.command("QUIT", 221)
    return replies


def local_suite(main_cf_extra=""):
    suite = Suite(main_cf_extra=MAIN_CF + main_cf_extra, start=False)
    suite.write_aliases(ALIASES)
    suite.start()
    return suite


def test_rcpt_replies_from_an_untrusted_client():
    with local_suite() as suite:
        expected = {
            f"root@{HOST}": 250,            # a system user
            f"ROOT@{HOST.upper()}": 250,    # case does not matter
            f"root+cron@{HOST}": 250,       # the extension is removed
            f"postmaster@{HOST}": 250,      # always (RFC 5321)
            f"webmaster@{HOST}": 250,       # a name of the aliases file
            f"fwd+news@{HOST}": 250,        # an alias with an extension
            f"nosuchuser@{HOST}": 550,
            f"nosuchuser+root@{HOST}": 550,  # the extension is not the user
            "someone@elsewhere.example": 554,
            # Not in this test's mydestination: the default names are not ours here.
            "root@localhost": 554,
            "root@mx.example.test": 554,
            f"root@sub.{HOST}": 554,
            # Sender-specified routing through the local domain is still relaying.
            f"someone%elsewhere.example@{HOST}": 554,
            # The accounts' domain keeps its own answer.
            "demo@example.test": 250,
            "root@example.test": 550,
        }
        replies = rcpt_replies(suite.smtp_port, list(expected))
        got = {recipient: code for recipient, (code, _) in replies.items()}
        assert got == expected, {r: replies[r] for r in expected if got[r] != expected[r]}
        assert replies[f"nosuchuser@{HOST}"][1] == UNKNOWN_TEXT, replies[f"nosuchuser@{HOST}"]
        assert replies["someone@elsewhere.example"][1] == \
            "5.7.1 <someone@elsewhere.example>: Relay access denied", \
            replies["someone@elsewhere.example"]
        assert replies["root@example.test"][1] == \
            "5.1.1 <root@example.test>: Recipient address rejected: User unknown"
        # Postfix's reject line, which pflogsumm and fail2ban's postfix filter read.
        line = ("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 " + UNKNOWN_TEXT +
                "; from=<stranger@elsewhere.example> to=<nosuchuser@sys.example.net> "
                "proto=ESMTP helo=<client.example.net>")
        wait_until(lambda: line in suite.log(), 10, what=line)
        assert suite.queue_files() == [], suite.queue_files()


def test_alias_to_a_virtual_user_arrives_over_port_25():
    with local_suite() as suite:
        token = uuid.uuid4().hex
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=30) as client:
            client.ehlo("client.example.net")
            for recipient in (f"fwd@{HOST}", f"Fwd+news@{HOST}"):
                refused = client.sendmail(
                    "stranger@elsewhere.example", [recipient],
                    f"From: <stranger@elsewhere.example>\r\nTo: <{recipient}>\r\n"
                    f"Subject: {token} {recipient}\r\n\r\nhello {token}\r\n".encode())
                assert refused == {}, refused
        found = suite.wait_for_mail("demo@example.test", 2)
        subjects = set()
        for path in found:
            with open(path, "rb") as f:
                data = f.read()
            assert f"hello {token}".encode() in data, data[:500]
            for line in data.split(b"\n"):
                if line.startswith(b"Subject: "):
                    subjects.add(line[len(b"Subject: "):].strip().decode())
        assert subjects == {f"{token} fwd@{HOST}", f"{token} Fwd+news@{HOST}"}, subjects
        assert "status=sent" in suite.log()


def test_submission_shares_the_check():
    with local_suite() as suite:
        suite.wait_for_port(suite.submission_port)
        client = starttls_client(suite, login="demo@example.test")
        try:
            client.mail("demo@example.test")
            code, text = client.rcpt(f"nosuchuser@{HOST}")
            assert (code, text.decode()) == (550, UNKNOWN_TEXT), (code, text)
            assert client.rcpt(f"root@{HOST}")[0] == 250
            assert client.rcpt(f"webmaster+x@{HOST}")[0] == 250
            client.rset()
        finally:
            client.quit()


def test_empty_local_recipient_maps_accepts_every_local_part():
    with local_suite("local_recipient_maps =\n") as suite:
        replies = rcpt_replies(suite.smtp_port, [f"nosuchuser@{HOST}", "someone@elsewhere.example"])
        assert replies[f"nosuchuser@{HOST}"][0] == 250, replies
        assert replies["someone@elsewhere.example"][0] == 554, replies
        assert "local_recipient_maps is empty" in suite.log()


def test_an_unsupported_table_is_refused_naming_it():
    """In main.cf: postern-master -t (what postern config check and setup run) and the start
    refuse it. Given to smtpd alone with master.cf's -o (which master does not judge): smtpd
    stops at its start, naming it."""
    bad = "mysql:/etc/postern/users.cf"
    wanted = f'local_recipient_maps: unsupported table "{bad}"'
    with Suite(main_cf_extra=MAIN_CF + f"local_recipient_maps = unix:passwd.byname, {bad}\n",
               start=False) as suite:
        check = subprocess.run(suite.master_command()[:-1] + ["-t"], capture_output=True,
                               text=True, timeout=60)
        assert check.returncode != 0 and wanted in check.stdout + check.stderr, check
        suite.start(wait=False)
        wait_until(lambda: wanted in suite.log(), 20, what="master's fatal line naming the table")
        wait_until(lambda: suite.process.poll() is not None, 20, what="master to exit")
    with Suite(main_cf_extra=MAIN_CF, start=False) as suite:
        services = [line + f" -o local_recipient_maps={bad}" if line.endswith(" smtpd") else line
                    for line in suite.default_services()]
        suite.write_master_cf(services)
        suite.start(wait=False)
        wait_until(lambda: wanted in suite.log(), 20, what="smtpd's fatal line naming the table")
        assert "postern/smtpd" in next(line for line in suite.log().splitlines()
                                       if wanted in line)


if __name__ == "__main__":
    run_tests([test_rcpt_replies_from_an_untrusted_client,
               test_alias_to_a_virtual_user_arrives_over_port_25,
               test_submission_shares_the_check,
               test_empty_local_recipient_maps_accepts_every_local_part,
               test_an_unsupported_table_is_refused_naming_it])
