"""Peer test: a real Postfix relays mail to our smtpd on loopback, the way a backup MX or a
satellite host would. Postfix (tests/harness/postfix_instance.py, relay role) gets
relayhost = [127.0.0.1]:<our smtpd port>; smtp-source injects 100 messages into Postfix; all 100
must land in demo's Maildir, each exactly once, and Postfix must report every one as sent.

If Postfix cannot run here (not installed, not root) the test FAILS with the reason: a peer test
that silently skips would let a broken interoperability path pass CI.
"""
import re
import subprocess

from postern_harness import Suite, run_tests, wait_until
from postfix_instance import PostfixInstance, SMTP_SOURCE, postfix_unavailable_reason

MESSAGES = 100
SESSIONS = 5
RECIPIENT = "demo@example.test"
SENDER = "sender@peer.invalid"


def read_message(path):
    with open(path, "rb") as f:
        return f.read()


def test_postfix_relays_100_messages_to_smtpd():
    reason = postfix_unavailable_reason()
    if reason:
        raise AssertionError(f"real Postfix needed for this peer test: {reason}")
    with Suite() as suite, PostfixInstance("relay", relay_port=suite.smtp_port) as postfix:
        # -d keeps each of the 5 sessions open for its share of the 100 messages; smtp-source
        # gives every message a distinct Message-ID, which is how duplicates are found below.
        sent = subprocess.run(
            [SMTP_SOURCE, "-s", str(SESSIONS), "-m", str(MESSAGES), "-d", "-l", "2048",
             "-f", SENDER, "-t", RECIPIENT, "-S", "peer relay test",
             f"127.0.0.1:{postfix.smtp_port}"],
            capture_output=True, text=True, timeout=120)
        assert sent.returncode == 0, f"smtp-source into Postfix failed: {sent.stderr}"

        messages = suite.wait_for_mail(RECIPIENT, MESSAGES, timeout=120)
        # Postfix logs status=sent only after our 250: every message must have had one.
        wait_until(lambda: postfix.log().count("status=sent") >= MESSAGES, 30,
                   what="Postfix to log every message as sent")
        wait_until(lambda: postfix.queue_count() == 0, 30, what="Postfix queue to empty")
        # Let qmgr finish: nothing left in our queue means no delivery still in flight.
        wait_until(lambda: not suite.queue_files(), 30, what="Postern queue to empty")
        messages = suite.messages(RECIPIENT)

        assert len(messages) == MESSAGES, f"{len(messages)} messages in Maildir, want {MESSAGES}"
        message_ids = []
        postfix_queue_ids = []
        for path in messages:
            content = read_message(path)
            header = content.split(b"\n\n", 1)[0]
            found = re.search(rb"^Message-ID:\s*(<[^>]*>)", header, re.IGNORECASE | re.MULTILINE)
            assert found, f"no Message-ID in {path}"
            message_ids.append(found.group(1))
            # The Received: header Postfix added names its own queue ID ("with ESMTP id X").
            relayed = re.search(rb"by postfix-relay\.peer\.invalid \(Postfix\) with E?SMTP id "
                                rb"([0-9A-F]+)", header)
            assert relayed, f"{path} did not come through the Postfix relay"
            postfix_queue_ids.append(relayed.group(1))
            assert b"\r\n" not in content, f"{path}: CRLF left in a Maildir file"
            assert content.startswith(b"Return-Path: <" + SENDER.encode() + b">"), \
                f"{path}: no Return-Path for the envelope sender"
            assert b"Delivered-To: " + RECIPIENT.encode() in header, f"{path}: no Delivered-To"
        duplicates = len(message_ids) - len(set(message_ids))
        assert duplicates == 0, f"{duplicates} duplicate Message-IDs in the Maildir"
        assert len(set(postfix_queue_ids)) == MESSAGES, "a Postfix queue file delivered twice"

        log = postfix.log()
        deferred = log.count("status=deferred")
        assert deferred == 0, f"Postfix deferred {deferred} deliveries to our smtpd:\n" + "\n".join(
            line for line in log.splitlines() if "status=deferred" in line)[:3000]
        # Our side logged a delivery for each one, Postfix-style.
        delivered_lines = [line for line in suite.log().splitlines()
                           if f"to=<{RECIPIENT}>" in line and "status=sent" in line]
        assert len(delivered_lines) == MESSAGES, \
            f"{len(delivered_lines)} 'status=sent' lines in our log, want {MESSAGES}"


if __name__ == "__main__":
    run_tests([test_postfix_relays_100_messages_to_smtpd])
