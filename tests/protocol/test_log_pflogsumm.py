"""pflogsumm reads our log as it reads Postfix's: a suite's log (master -f, stderr; the same
lines maillog_file gets) run through `pflogsumm --syslog-name=postern` reports the numbers of
received, delivered, deferred, bounced and rejected messages that this test caused, each one
known in advance:

- 3 messages from a remote sender, one to each local user (demo, alice, bob): received 3,
  delivered 3 (Maildir).
- 1 message to late@deferred.example, which transport_maps sends to a loopback port where
  nothing listens: received, deferred (relay's "connect to ...: Connection refused"). The retry
  times are long, so it is tried once in this test (1 deferral).
- 1 message from demo@example.test to gone@bounced.example, which transport_maps refuses
  (error:5.1.1): received, bounced; the bounce (DSN) to demo is one more delivered message
  (pflogsumm counts it as Postfix's own bounces: delivered, never received).
- 2 recipients rejected at RCPT, each in a session of its own: an unknown user of ours (550
  5.1.1 User unknown) and, from 127.0.0.2 (outside mynetworks = 127.0.0.1/32), a remote domain
  (554 5.7.1 Relay access denied).

So: received 5, delivered 4, deferred 1 (1 deferral), bounced 1, rejected 2. pflogsumm only
reads lines of the syslog file shape ("Mmm dd hh:mm:ss HOST tag[pid]: ...", with the host
field), and its counts rest on the Postfix shapes of `QID: client=`, `QID: from=<>, size=N`,
`QID: to=<>, relay=..., delay=..., dsn=..., status=...` and `NOQUEUE: reject: RCPT from ...`;
every line of the log must have that file shape. If pflogsumm is missing the test FAILS with
the reason (scripts/install-deps installs it).
"""
import os
import re
import shutil
import smtplib
import subprocess

from postern_harness import Suite, TEST_DOMAIN, free_port, run_tests, wait_until

PFLOGSUMM = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
REMOTE_SENDER = "someone@remote.test"
LOCAL_SENDER = f"demo@{TEST_DOMAIN}"
SYSLOG_SHAPE = re.compile(r"^[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d \S+ postern/[a-z]+\[\d+\]: ")


def message(sender, rcpt, subject):
    return (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@client.test>\r\n\r\n"
            f"{subject}\r\n").encode()


def send(suite, sender, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", suite.smtp_port, local_hostname="client.test",
                      timeout=30) as client:
        refused = client.sendmail(sender, [rcpt], message(sender, rcpt, subject))
        assert not refused, refused


def refused_at_rcpt(suite, rcpt, source="127.0.0.1"):
    """One session whose only RCPT is refused; returns (code, reply)."""
    with smtplib.SMTP("127.0.0.1", suite.smtp_port, local_hostname="client.test", timeout=30,
                      source_address=(source, 0)) as client:
        client.ehlo()
        code, reply = client.mail(REMOTE_SENDER)
        assert code == 250, (code, reply)
        answer = client.rcpt(rcpt)
        client.rset()
        return answer


def grand_totals(report):
    """{'received': 5, ...} from pflogsumm's "Grand Totals" section."""
    section = report.split("Grand Totals", 1)[1].split("Per-Hour Traffic", 1)[0]
    totals = {}
    for count, unit, word in re.findall(
            r"^\s*(\d+)([km ])\s+(received|delivered|deferred|bounced|rejected|held|discarded)\b",
            section, re.MULTILINE):
        assert unit == " ", f"unexpected unit {unit!r} in {section}"
        totals[word] = int(count)
    return totals, section


def test_pflogsumm_counts_what_the_test_caused():
    assert os.access(PFLOGSUMM, os.X_OK), \
        f"{PFLOGSUMM} is missing: scripts/install-deps installs Debian's pflogsumm"
    dead_port = free_port()
    extra = ("mynetworks = 127.0.0.1/32\n"
             "transport_maps = texthash:$config_directory/transport\n"
             # One delivery attempt for the deferred message within the test.
             "queue_run_delay = 300s\nminimal_backoff_time = 300s\nmaximal_backoff_time = 600s\n")
    suite = Suite(start=False, main_cf_extra=extra)
    with suite:
        assert suite.has_program("relay"), "postern-relay is not built"
        with open(os.path.join(suite.etc, "transport"), "w") as f:
            f.write(f"deferred.example  relay:[127.0.0.1]:{dead_port}\n"
                    "bounced.example  error:5.1.1 no such mailbox over there\n")
        suite.start()

        for user in ("demo", "alice", "bob"):
            send(suite, REMOTE_SENDER, f"{user}@{TEST_DOMAIN}", f"hello {user}")
        send(suite, REMOTE_SENDER, "late@deferred.example", "waits")
        send(suite, LOCAL_SENDER, "gone@bounced.example", "bounces")
        code, reply = refused_at_rcpt(suite, f"nobody@{TEST_DOMAIN}")
        assert code == 550 and b"User unknown" in reply, (code, reply)
        code, reply = refused_at_rcpt(suite, "x@elsewhere.example", source="127.0.0.2")
        assert code == 554 and b"Relay access denied" in reply, (code, reply)

        suite.wait_for_mail(f"demo@{TEST_DOMAIN}", 2)  # hello demo + the bounce
        suite.wait_for_mail(f"alice@{TEST_DOMAIN}", 1)
        suite.wait_for_mail(f"bob@{TEST_DOMAIN}", 1)

        def settled():
            log = suite.log()
            return (re.search(r": to=<late@deferred\.example>, .*status=deferred", log)
                    and re.search(r": to=<gone@bounced\.example>, .*status=bounced", log)
                    and len(suite.queue_files()) == 1 and log)
        wait_until(settled, 30, 0.05, "the deferral, the bounce and a queue of one")
        suite.stop()  # nothing more is logged: pflogsumm reads a finished log

        log = suite.log()
        lines = log.splitlines()
        assert lines, "empty log"
        odd = [line for line in lines if not SYSLOG_SHAPE.match(line)]
        assert not odd, "lines not in the syslog file shape:\n" + "\n".join(odd[:20])

        done = subprocess.run([PFLOGSUMM, "--syslog-name=postern", suite.log_path],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        report = done.stdout
        totals, section = grand_totals(report)
        print("  pflogsumm:\n    " + section.strip().replace("\n", "\n    "))
        expected = {"received": 5, "delivered": 4, "deferred": 1, "bounced": 1, "rejected": 2,
                    "held": 0, "discarded": 0}
        assert totals == expected, f"pflogsumm counted {totals}, the test caused {expected}\n" \
            + report
        assert re.search(r"\b1\s+deferred\s+\(\s*1\s+deferrals\)", section), section

        # The detail sections name what happened, read from the same lines.
        assert "Relay access denied" in report, report
        assert "User unknown" in report, report
        assert "no such mailbox over there" in report, report
        assert "Connection refused" in report, report
        assert re.search(r"remote\.test", report.split("Senders by message count", 1)[1]), report


if __name__ == "__main__":
    run_tests([test_pflogsumm_counts_what_the_test_caused])
