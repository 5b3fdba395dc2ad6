"""Helpers for the submission suite tests (tests/protocol/test_submission_*.py): a Suite with
both submission ports up, a TLS context that accepts the suite's self-signed certificate, and
readers for delivered messages. Not a test itself (CTest runs only test_*.py)."""
import email
import email.policy
import os
import re
import smtplib
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postern_harness  # noqa: E402
from postern_harness import Suite, wait_until  # noqa: E402

PASSWORD = postern_harness.TEST_PASSWORD
# Login names without '@' get this domain (smtpd_sasl_local_domain).
BASE_MAIN_CF = "smtpd_sasl_local_domain = example.test\n"


def submission_suite(main_cf_extra="", **kwargs):
    """A Suite whose submission (587-style) and submissions (465-style) ports accept (or, with
    start=False, one not started yet)."""
    if not Suite.has_program("submission"):
        raise RuntimeError("postern-submission is not built in " + postern_harness.BIN_DIR)
    suite = Suite(main_cf_extra=BASE_MAIN_CF + main_cf_extra, **kwargs)
    if not kwargs.get("start", True):
        return suite
    try:
        suite.wait_for_port(suite.submission_port)
        suite.wait_for_port(suite.submissions_port)
    except Exception:
        suite.__exit__(*sys.exc_info())
        raise
    return suite


def client_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the suite's certificate is self-signed
    return context


def starttls_client(suite, login=None):
    """smtplib on the 587-style port, after EHLO + STARTTLS + EHLO, logged in when asked."""
    client = smtplib.SMTP("127.0.0.1", suite.submission_port, timeout=20)
    client.ehlo("client.example.net")
    client.starttls(context=client_context())
    client.ehlo("client.example.net")
    if login:
        client.login(login, PASSWORD)
    return client


def parse(path):
    with open(path, "rb") as f:
        return email.message_from_bytes(f.read(), policy=email.policy.compat32)


def wait_for_subject(suite, address, subject, timeout=30.0):
    """The delivered message (email.message.Message) to address with this Subject."""
    def find():
        for path in suite.messages(address):
            message = parse(path)
            if message.get("Subject") == subject:
                return message
        return None
    try:
        return wait_until(find, timeout, 0.05, f"'{subject}' for {address}")
    except TimeoutError:
        raise TimeoutError(f"'{subject}' never reached {address}\n" + suite.log()[-5000:])


RECEIVED_ID = re.compile(r"with ESMTPSA id ([0-9A-Z]+)")


def check_submitted(message, login, added_by_us):
    """Checks what submission adds: Received 'with ESMTPSA' (RFC 3848) without the login,
    exactly one Message-ID and Date; when added_by_us, ours (made from the queue ID)."""
    received = message.get_all("Received")[0]
    match = RECEIVED_ID.search(received)
    assert match, received
    assert login not in received and login.split("@")[0] not in received.split("for <")[0], \
        received
    assert len(message.get_all("Message-ID", [])) == 1, message.get_all("Message-ID")
    assert len(message.get_all("Date", [])) == 1, message.get_all("Date")
    if added_by_us:
        assert message["Message-ID"].endswith(f".{match.group(1)}@mx.example.test>"), \
            message["Message-ID"]
    else:
        assert not message["Message-ID"].endswith(f".{match.group(1)}@mx.example.test>")
