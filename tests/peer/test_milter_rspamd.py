"""Peer test (issue 12): Debian's rspamd, in milter mode (its proxy worker, `milter = yes`,
tests/harness/real_milters.py), behind port 25 (smtpd_milters). A GTUBE message is refused
with rspamd's own reply, word for word (554 5.7.1 Gtube pattern), logged the Postfix way
(milter-reject: END-OF-MESSAGE from ...) and not delivered; a clean message is delivered with
the headers rspamd's milter_headers module asked for (X-Spamd-Result, X-Rspamd-Server,
X-Rspamd-Queue-Id, X-Rspamd-Action, X-Spam-Status: No).

What the MTA must get right for rspamd: protocol version 6 (rspamd refuses lower), the "no
reply" flags it sets for every step but end-of-message (waiting for a reply there stalls until
the timeout), and the queue ID macro `i` (rspamd reports it in X-Rspamd-Queue-Id).

The same scenarios run against a real Postfix (reference) and Postern: `postfix`, `postern` or
both (default) on the command line. Skipped (77) when rspamd or Postfix cannot run here.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from milter_mta import (MtaUnderTest, header_values, make_message,  # noqa: E402
                        run_for_each_mta)
from real_milters import GTUBE, Rspamd  # noqa: E402


def start_mta(kind, milters):
    (rspamd,) = milters
    return MtaUnderTest(kind, smtpd_milters=rspamd.spec)


def gtube_is_rejected(mta, milters):
    subject = "rspamd gtube"
    code, text = mta.send(make_message(subject, body=f"Spam test.\n{GTUBE}\n"))
    assert (code, text) == (554, "5.7.1 Gtube pattern"), (code, text)
    lines = mta.wait_for_log("milter-reject: END-OF-MESSAGE from ")
    assert any("5.7.1 Gtube pattern" in line for line in lines), lines
    assert not mta.has_subject(subject), "a GTUBE message was delivered"


def clean_message_gets_rspamd_headers(mta, milters):
    subject = "rspamd clean"
    started = time.monotonic()
    code, text = mta.send(make_message(subject))
    assert code == 250, (code, text)
    # rspamd answers only end-of-message: an MTA that waits for a reply to any other step
    # stalls there until milter_command_timeout (10 s here).
    seconds = time.monotonic() - started
    assert seconds < 5, f"the SMTP session took {seconds:.1f}s: waiting for a no-reply step?"
    message = mta.wait_for_subject(subject)
    result = header_values(message, "X-Spamd-Result")
    assert len(result) == 1 and result[0].startswith("default: False ["), result
    status = header_values(message, "X-Spam-Status")
    assert len(status) == 1 and status[0].startswith("No, score="), status
    assert header_values(message, "X-Rspamd-Action") == ["no action"], \
        header_values(message, "X-Rspamd-Action")
    assert len(header_values(message, "X-Rspamd-Server")) == 1, message[:2000]
    # rspamd names the message by the `i` macro the MTA sent: it must be the MTA's queue ID,
    # the one in the MTA's own Received: header ("... id QUEUEID").
    queue_id = header_values(message, "X-Rspamd-Queue-Id")
    assert len(queue_id) == 1 and queue_id[0], queue_id
    received = header_values(message, "Received")[0]
    assert f"id {queue_id[0]}" in received, (queue_id, received)
    # The header block stays well formed: rspamd folds long values with "\n\t"; every folded
    # line must reach the Maildir as a continuation line, not as a bare LF or a CR.
    head = message.split(b"\n\n", 1)[0]
    assert b"\r" not in head, head


if __name__ == "__main__":
    run_for_each_mta([Rspamd], [gtube_is_rejected, clean_message_gets_rspamd_headers], start_mta)
