"""Peer test (issue 12): two real milters chained on one service, authenticated submission:
`submission_milters = <rspamd>, <OpenDKIM>` (on Postfix, a submission smtpd with
-o smtpd_milters=...). Both effects must be visible in one delivered message: rspamd's headers
and OpenDKIM's signature. And the order matters the way Postfix does it: OpenDKIM (second)
sees the headers rspamd (first) added, so it signs X-Spamd-Result and X-Rspamd-Queue-Id too
(SignHeaders here adds them; OpenDKIM lists in h= only fields it saw). Simple header
canonicalization: the signature verifies only if the stored bytes of rspamd's folded
X-Spamd-Result are exactly those OpenDKIM was shown. A GTUBE message is refused by rspamd with
its own reply; OpenDKIM's signature on it must not matter (nothing is delivered).
On port 25, `smtpd_milters = { inet:<nobody there>, default_action=accept }, <rspamd>`: the
dead milter is passed over and rspamd still acts.

The same scenarios run against a real Postfix (reference) and Postern: `postfix`, `postern` or
both (default) on the command line. Skipped (77) when rspamd, OpenDKIM, Postfix or Dovecot
cannot run here.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from milter_mta import (MtaUnderTest, header_values, make_message,  # noqa: E402
                        run_for_each_mta)
from postern_harness import free_port  # noqa: E402
from real_milters import GTUBE, OpenDkim, Rspamd  # noqa: E402

SELECTOR = "chain"


class ChainOpenDkim(OpenDkim):
    def __init__(self, **kwargs):
        super().__init__(selector=SELECTOR, canonicalization="simple/simple",
                         sign_headers="*,+X-Spamd-Result,+X-Rspamd-Queue-Id", **kwargs)


# Port 25 has a milter nobody listens on in front of rspamd, in Postfix's per-milter form
# with default_action=accept: that one is skipped, rspamd still acts (while the global
# milter_default_action stays tempfail).
DEAD_MILTER_PORT = free_port()


def start_mta(kind, milters):
    rspamd, opendkim = milters
    return MtaUnderTest(
        kind, submission_milters=f"{rspamd.spec}, {opendkim.spec}",
        smtpd_milters=(f"{{ inet:127.0.0.1:{DEAD_MILTER_PORT}, default_action=accept }}, "
                       f"{rspamd.spec}"),
        main_cf_extra="milter_connect_timeout = 5s\n")


def both_milters_act_on_one_message(mta, milters):
    rspamd, opendkim = milters
    subject = "chain clean"
    code, text = mta.send(make_message(subject), submission=True)
    assert code == 250, (code, text)
    message = mta.wait_for_subject(subject)
    # rspamd's part.
    result = header_values(message, "X-Spamd-Result")
    assert len(result) == 1 and result[0].startswith("default: False ["), message[:3000]
    assert len(header_values(message, "X-Rspamd-Queue-Id")) == 1, message[:3000]
    # OpenDKIM's part, over rspamd's headers.
    signatures = header_values(message, "DKIM-Signature")
    assert len(signatures) == 1, message[:3000]
    tags = {k.strip(): v.strip() for k, v in (p.split("=", 1) for p in
            signatures[0].replace("\n", "").split(";") if "=" in p)}
    assert tags.get("d") == "example.test" and tags.get("s") == SELECTOR, tags
    signed = [name.strip().lower() for name in tags.get("h", "").split(":")]
    assert "x-spamd-result" in signed and "x-rspamd-queue-id" in signed, \
        f"OpenDKIM did not see rspamd's headers: h={tags.get('h')}"
    opendkim.assert_signature_verifies(message)


def gtube_is_rejected_by_the_first_milter(mta, milters):
    subject = "chain gtube"
    code, text = mta.send(make_message(subject, body=f"Spam test.\n{GTUBE}\n"),
                          submission=True)
    assert (code, text) == (554, "5.7.1 Gtube pattern"), (code, text)
    mta.wait_for_log("milter-reject: END-OF-MESSAGE from ")
    assert not mta.has_subject(subject), "a GTUBE message was delivered"


def dead_milter_with_default_accept_is_skipped(mta, milters):
    subject = "chain dead first"
    code, text = mta.send(make_message(subject))
    assert code == 250, (code, text)
    message = mta.wait_for_subject(subject)
    assert len(header_values(message, "X-Spamd-Result")) == 1, message[:3000]
    code, text = mta.send(make_message("chain dead gtube", body=f"Spam test.\n{GTUBE}\n"))
    assert (code, text) == (554, "5.7.1 Gtube pattern"), (code, text)


if __name__ == "__main__":
    run_for_each_mta([Rspamd, ChainOpenDkim],
                     [both_milters_act_on_one_message, gtube_is_rejected_by_the_first_milter,
                      dead_milter_with_default_accept_is_skipped],
                     start_mta)
