"""non_smtpd_milters on mail from sendmail(1), as pickup runs it (issue 12): what happens to a
message whose sendmail already exited 0 when a milter refuses, defers or quarantines it.
Postfix bounces such a refusal to the sender; so does Postern. A milter that cannot be reached
(milter_default_action = tempfail) leaves the message in maildrop/ until it can be filtered:
nothing is lost. The plain pass-through and header edit are in tests/peer/test_milter_reference.py.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from postern_harness import BIN_DIR, Suite, run_tests, skip_test, wait_until  # noqa: E402
from test_milter import TestMilter, not_listening_spec, test_milter_unavailable_reason  # noqa: E402

SENDER = "demo@example.test"      # a local account: its bounces land in a Maildir we read
RECIPIENT = "alice@example.test"


def message(tag):
    return (f"From: Demo <{SENDER}>\nTo: <{RECIPIENT}>\nSubject: pickup {tag}\n"
            f"Message-ID: <{tag}@client.example>\n\nbody of {tag}\n").encode()


def sendmail(suite, tag):
    done = subprocess.run([os.path.join(BIN_DIR, "sendmail"), "-C", suite.etc, "-f", SENDER,
                           "-i", RECIPIENT], input=message(tag), capture_output=True, timeout=60)
    assert done.returncode == 0, done
    return done


def test_refusal_is_bounced_to_the_sender():
    with TestMilter("reject-eom") as milter, \
            Suite(main_cf_extra=f"non_smtpd_milters = {milter.spec}\n") as suite:
        sendmail(suite, "refused")
        suite.wait_for_mail(SENDER, 1)
        bounce = open(suite.messages(SENDER)[0], "rb").read()
        assert b"Content-Type: multipart/report" in bounce, bounce[:2000]
        assert b"5.7.1" in bounce and RECIPIENT.encode() in bounce, bounce[:4000]
        assert b"Subject: pickup refused" in bounce, bounce[:4000]  # the original headers
        assert not suite.messages(RECIPIENT), "the refused message was delivered"
        wait_until(lambda: "milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: 5.7.1 "
                           "Command rejected" in suite.log(), what="the milter-reject line")
        assert not os.listdir(os.path.join(suite.spool, "maildrop")), "left in maildrop/"


def test_unreachable_milter_keeps_the_message_in_maildrop():
    dead = not_listening_spec()
    with Suite(main_cf_extra=f"non_smtpd_milters = {dead}\n") as suite:
        sendmail(suite, "waiting")
        maildrop = os.path.join(suite.spool, "maildrop")
        wait_until(lambda: "left in maildrop/ for the next scan" in suite.log(),
                   what="pickup deferring the message")
        time.sleep(2.5)  # two more scans: still there, still not delivered
        assert len(os.listdir(maildrop)) == 1, os.listdir(maildrop)
        assert not suite.messages(RECIPIENT)
        # Without the milter (a reload with non_smtpd_milters emptied) it goes out.
        suite.write_main_cf("non_smtpd_milters =\n")
        suite.reload()
        suite.wait_for_mail(RECIPIENT, 1)
        assert b"body of waiting" in open(suite.messages(RECIPIENT)[0], "rb").read()
        wait_until(lambda: not os.listdir(maildrop), what="maildrop/ empty")


def test_quarantine_goes_to_hold():
    with TestMilter("quarantine:held by test") as milter, \
            Suite(main_cf_extra=f"non_smtpd_milters = {milter.spec}\n") as suite:
        sendmail(suite, "held")
        hold = os.path.join(suite.spool, "hold")
        wait_until(lambda: os.path.isdir(hold) and os.listdir(hold), what="a file in hold/")
        wait_until(lambda: "milter-hold: END-OF-MESSAGE" in suite.log(), what="milter-hold line")
        listing = subprocess.run([os.path.join(BIN_DIR, "postern"), "-c", suite.etc, "queue",
                                  "list"], capture_output=True, text=True, timeout=30)
        assert "!" in listing.stdout, listing.stdout  # mailq's mark for a held message
        assert not suite.messages(RECIPIENT)
        # The admin releases it (postsuper -H): delivered.
        queue_id = os.listdir(hold)[0]
        released = subprocess.run([os.path.join(BIN_DIR, "postern"), "-c", suite.etc, "queue",
                                   "release", queue_id], capture_output=True, text=True, timeout=30)
        assert released.returncode == 0, released
        suite.wait_for_mail(RECIPIENT, 1)
        again = subprocess.run([os.path.join(BIN_DIR, "postern"), "-c", suite.etc, "queue",
                                "release", queue_id], capture_output=True, text=True, timeout=30)
        assert again.returncode == 3 and "not on hold" in again.stderr, again


if __name__ == "__main__":
    reason = test_milter_unavailable_reason()
    if reason:
        skip_test(reason)
    run_tests([test_refusal_is_bounced_to_the_sender,
               test_unreachable_milter_keeps_the_message_in_maildrop,
               test_quarantine_goes_to_hold])
