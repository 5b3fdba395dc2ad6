"""Peer test (issue 12): Debian's OpenDKIM signing for example.test with a key made by
opendkim-genkey for this test (tests/harness/real_milters.py), on both services: port 25
(smtpd_milters) and authenticated submission (submission_milters; on Postfix a second smtpd
with -o smtpd_milters=... and SASL through a throwaway Dovecot).

InternalHosts names an address that is never the client, so loopback is NOT internal: OpenDKIM
signs only when the MTA tells it the client authenticated, by a non-empty {auth_type} macro
sent before end-of-headers (OpenDKIM decides there). So:
  - a message submitted with AUTH is signed (d=example.test, s=<the test's selector>), and the
    signature verifies twice: with python3-dkim (dkim.verify, the key's TXT record given by a
    dnsfunc) and with opendkim-testmsg (in a private network namespace whose only DNS server
    is ours, on 127.0.0.1:53);
  - the same message on port 25 (no AUTH, so no {auth_type}) is not signed.
The DKIM-Signature value OpenDKIM adds starts with a space (it negotiated the "leading space"
option): the stored header must be "DKIM-Signature: v=1; ...", the space not doubled, and the
header bytes OpenDKIM saw must be the bytes stored, or the signature breaks.

The same scenarios run against a real Postfix (reference) and Postern: `postfix`, `postern` or
both (default) on the command line. Skipped (77) when OpenDKIM, Postfix or Dovecot cannot run
here.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from milter_mta import (MtaUnderTest, header_names, header_values,  # noqa: E402
                        make_message, run_for_each_mta)
from real_milters import OpenDkim  # noqa: E402

SELECTOR = "postern2026"


class TestOpenDkim(OpenDkim):
    def __init__(self, **kwargs):
        super().__init__(selector=SELECTOR, **kwargs)


def start_mta(kind, milters):
    (opendkim,) = milters
    return MtaUnderTest(kind, smtpd_milters=opendkim.spec, submission_milters=opendkim.spec)


def signature_tags(value):
    return {k.strip(): v.strip() for k, v in
            (part.split("=", 1) for part in value.replace("\n", "").split(";") if "=" in part)}


def authenticated_submission_is_signed(mta, milters):
    (opendkim,) = milters
    subject = "opendkim submission"
    code, text = mta.send(make_message(subject, body="Signed by OpenDKIM.\n\nSecond paragraph.\n"),
                          submission=True)
    assert code == 250, (code, text)
    message = mta.wait_for_subject(subject)
    signatures = header_values(message, "DKIM-Signature")
    assert len(signatures) == 1, message[:3000]
    tags = signature_tags(signatures[0])
    assert tags.get("d") == "example.test" and tags.get("s") == SELECTOR, tags
    assert tags.get("c") == "relaxed/simple" and tags.get("a") == "rsa-sha256", tags
    assert "from" in tags.get("h", "").lower().split(":"), tags
    # One space after the colon: OpenDKIM's value already starts with it (leading space).
    assert b"\nDKIM-Signature: v=1;" in b"\n" + message.replace(b"\r\n", b"\n"), message[:3000]

    # OpenDKIM sends INSHEADER index 0; Postfix puts it above its own Received: (which
    # milters are not shown).
    names = [name.lower() for name in header_names(message)]
    assert names.index("dkim-signature") < names.index("received"), names

    opendkim.assert_signature_verifies(message)


def long_body_signature_verifies(mta, milters):
    """A 270 KB body reaches OpenDKIM in several BODY packets (Postfix: 65535 bytes each, CRLF
    line ends); the body hash only matches if every byte arrived once, in order."""
    (opendkim,) = milters
    subject = "opendkim long body"
    body = "".join(f"Line {n:06d} of a long body, sent to the milter in several chunks.\n"
                   for n in range(4000))
    code, text = mta.send(make_message(subject, body=body), submission=True)
    assert code == 250, (code, text)
    message = mta.wait_for_subject(subject)
    assert len(header_values(message, "DKIM-Signature")) == 1, message[:3000]
    opendkim.assert_signature_verifies(message, "the long body's signature")


def unauthenticated_port_25_is_not_signed(mta, milters):
    subject = "opendkim port 25"
    code, text = mta.send(make_message(subject))
    assert code == 250, (code, text)
    message = mta.wait_for_subject(subject)
    assert header_values(message, "DKIM-Signature") == [], message[:3000]


def tampered_body_fails_verification(mta, milters):
    """The verifiers here would catch a broken signature (not only say yes): the signed
    message with one body byte changed fails both."""
    (opendkim,) = milters
    subject = "opendkim tamper"
    code, text = mta.send(make_message(subject, body="Original body.\n"), submission=True)
    assert code == 250, (code, text)
    message = mta.wait_for_subject(subject)
    assert len(header_values(message, "DKIM-Signature")) == 1, message[:3000]
    message = message.replace(b"Original body.", b"Original bodY.")
    verified, checked = opendkim.check_signature(message)
    assert not verified, "python3-dkim verified a tampered message"
    assert checked.returncode != 0 or checked.stdout.strip() or checked.stderr.strip(), checked


if __name__ == "__main__":
    run_for_each_mta([TestOpenDkim],
                     [authenticated_submission_is_signed, long_body_signature_verifies,
                      unauthenticated_port_25_is_not_signed, tampered_body_fails_verification],
                     start_mta)
