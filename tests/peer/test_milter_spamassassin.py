"""Peer test (issue 12): Debian's spamass-milter in front of spamd (SpamAssassin 4, local
tests only, a private site configuration: tests/harness/real_milters.py), behind port 25
(smtpd_milters). spamass-milter is started without `-i 127.0.0.1`, so loopback mail is
scanned, and with `-r 15`, so a message scoring 15 or more is refused.

A GTUBE message (score 1000) is refused with spamass-milter's own reply, word for word, logged
the Postfix way (milter-reject: END-OF-MESSAGE from ...) and not delivered. spamass-milter
sends its X-Spam-* headers BEFORE its REPLYCODE: the MTA must drop the pending edits of a
message it refuses (nothing of it may be delivered). A clean message is delivered with
X-Spam-Checker-Version, X-Spam-Level and X-Spam-Status: No, score=...

The same scenarios run against a real Postfix (reference) and Postern: `postfix`, `postern` or
both (default) on the command line. Skipped (77) when spamd, spamass-milter or Postfix cannot
run here.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from milter_mta import (MtaUnderTest, header_values, make_message,  # noqa: E402
                        run_for_each_mta)
from real_milters import GTUBE, SpamAssassin  # noqa: E402


def start_mta(kind, milters):
    (spamassassin,) = milters
    return MtaUnderTest(kind, smtpd_milters=spamassassin.spec)


def gtube_is_rejected(mta, milters):
    subject = "spamassassin gtube"
    code, text = mta.send(make_message(subject, body=f"Spam test.\n{GTUBE}\n"))
    assert (code, text) == (550, "5.7.1 Blocked by SpamAssassin"), (code, text)
    lines = mta.wait_for_log("milter-reject: END-OF-MESSAGE from ")
    assert any("5.7.1 Blocked by SpamAssassin" in line for line in lines), lines
    assert not mta.has_subject(subject), "a GTUBE message was delivered"


def clean_message_gets_spamassassin_headers(mta, milters):
    subject = "spamassassin clean"
    code, text = mta.send(make_message(subject))
    assert code == 250, (code, text)
    message = mta.wait_for_subject(subject)
    status = header_values(message, "X-Spam-Status")
    assert len(status) == 1 and status[0].startswith("No, score="), status
    assert "required=5.0" in status[0], status
    checker = header_values(message, "X-Spam-Checker-Version")
    assert len(checker) == 1 and checker[0].startswith("SpamAssassin 4."), checker
    assert len(header_values(message, "X-Spam-Level")) <= 1, message[:2000]
    # Not flagged: no X-Spam-Flag, Subject untouched, body not wrapped in a report.
    assert header_values(message, "X-Spam-Flag") == [], message[:2000]
    assert header_values(message, "Subject") == [subject]
    assert message.rstrip().endswith(b"Hello from the milter tests."), message[-500:]
    head = message.split(b"\n\n", 1)[0]
    assert b"\r" not in head, head


if __name__ == "__main__":
    run_for_each_mta([SpamAssassin],
                     [gtube_is_rejected, clean_message_gets_spamassassin_headers], start_mta)
