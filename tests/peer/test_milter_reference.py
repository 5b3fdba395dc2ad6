"""Milter reference test (issue 12): every scenario runs behind a real Postfix (the reference)
and behind Postern, through the same code, so that Postern's milter client is held to what
Postfix does with the same main.cf lines and the same milters.

    python3 tests/peer/test_milter_reference.py            both MTAs (the default, as CTest)
    python3 tests/peer/test_milter_reference.py postfix    the Postfix half only
    python3 tests/peer/test_milter_reference.py postern    the Postern half only
    POSTERN_MILTER_MTAS=postfix ...                        the same through the environment
    ... postfix reject_eom leading_space                   only the named scenarios

An "MTA" is an adapter (PostfixMTA, PosternMTA) started with main.cf lines (smtpd_milters,
milter_default_action, timeouts); mail goes in over SMTP on loopback with smtplib, and the
scenario checks the SMTP replies, the delivered Maildir messages, the hold queue, the MTA's log
and the milter's own JSON log (tests/harness/test_milter.py). Postfix delivers example.test
through virtual(8) to Maildirs, Postern to suite.maildir(): the same users (demo, alice, bob).

The milters are tests/milter/test_milter.c (libmilter) and the Python fault milters. Postfix
needs root: the test skips (77) when not root or when test-milter is not built.
"""
import contextlib
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from postern_harness import BIN_DIR, Suite, run_tests, skip_test, wait_until  # noqa: E402
from postfix_instance import PostfixInstance, postfix_unavailable_reason  # noqa: E402
from test_milter import (CloseMidBodyMilter, GarbageMilter, SilentMilter,  # noqa: E402
                         TestMilter, not_listening_spec, test_milter_unavailable_reason)

DOMAIN = "example.test"
USERS = ("demo", "alice", "bob")
DEMO, ALICE, BOB = (f"{user}@{DOMAIN}" for user in USERS)
SENDER = "sender@peer.invalid"
HELO = "client.example"
SMTP_SECONDS = 60         # any one SMTP reply
DELIVERY_SECONDS = 30     # from 250 to the Maildir
# Short milter timeouts for the fault scenarios (Postfix's defaults are 30 s, 30 s and 300 s).
FAULT_TIMEOUTS = ("milter_connect_timeout = 2s\nmilter_command_timeout = 2s\n"
                  "milter_content_timeout = 4s\n")

# Postfix's reply texts for a milter's REJECT / TEMPFAIL without smfi_setreply, and for a milter
# that cannot be reached with milter_default_action = tempfail. Postern copies them.
DEFAULT_REJECT = "5.7.1 Command rejected"
DEFAULT_TEMPFAIL = "4.7.1 Service unavailable - try again later"
POSTFIX_SENDMAIL = shutil.which("sendmail", path="/usr/sbin:/usr/bin") or "/usr/sbin/sendmail"


# ---- the two MTAs ---------------------------------------------------------------------------
class PostfixMTA:
    """A throwaway real Postfix (tests/harness/postfix_instance.py, receiver role)."""
    name = "postfix"
    hostname = "postfix-receiver.peer.invalid"

    def __init__(self, main_cf_extra, tls=False):
        # tls: STARTTLS with a throwaway self-signed certificate (Postern's suite always has
        # one). smtpd reads it as root, before it drops privileges.
        self.tls_dir = tempfile.mkdtemp(prefix="milter-tls-") if tls else None
        if tls:
            cert, key = (os.path.join(self.tls_dir, n) for n in ("cert.pem", "key.pem"))
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                            "2", "-subj", f"/CN={self.hostname}", "-keyout", key, "-out", cert],
                           check=True, capture_output=True, timeout=60)
            main_cf_extra += (f"smtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\n"
                              "smtpd_tls_security_level = may\n")
        # greeting_seconds: smtpd greets only once its milters answered or timed out.
        self.instance = PostfixInstance("receiver", users=USERS, domain=DOMAIN,
                                        main_cf_extra=main_cf_extra, greeting_seconds=10)
        self.smtp_port = self.instance.smtp_port

    def messages(self, address):
        user, domain = address.split("@")
        folder = os.path.join(self.instance.mail, domain, user, "new")
        try:
            return sorted(os.path.join(folder, n) for n in os.listdir(folder))
        except FileNotFoundError:
            return []

    def held(self):
        """Queue files in the hold queue (<queue_directory>/hold/<QUEUEID>, not hashed)."""
        return _files_under(os.path.join(self.instance.spool, "hold"))

    def in_flight(self):
        return sum(len(_files_under(os.path.join(self.instance.spool, folder)))
                   for folder in ("maildrop", "incoming", "active"))

    def log(self):
        return self.instance.log()

    def submit_local(self, sender, recipient, message):
        """Mail from the sendmail command (pickup), the path non_smtpd_milters filter."""
        return subprocess.run([POSTFIX_SENDMAIL, "-C", self.instance.etc, "-f", sender, "-i",
                               recipient], input=message, capture_output=True, timeout=60)

    def close(self, failed):
        try:
            self.instance.__exit__(Exception if failed else None, None, None)
        finally:
            if self.tls_dir:
                shutil.rmtree(self.tls_dir, ignore_errors=True)


class PosternMTA:
    """A Postern suite (tests/harness/postern_harness.py) with the same main.cf lines."""
    name = "postern"
    hostname = "mx.example.test"

    def __init__(self, main_cf_extra, tls=False):
        self.suite = Suite(main_cf_extra=main_cf_extra)  # its smtpd always offers STARTTLS
        self.smtp_port = self.suite.smtp_port

    def messages(self, address):
        return self.suite.messages(address)

    def held(self):
        return self.suite.queue_files("hold")

    def in_flight(self):
        return sum(len(self.suite.queue_files(folder)) for folder in ("incoming", "active"))

    def log(self):
        return self.suite.log()

    def submit_local(self, sender, recipient, message):
        return subprocess.run([os.path.join(BIN_DIR, "sendmail"), "-C", self.suite.etc, "-f",
                               sender, "-i", recipient], input=message, capture_output=True,
                              timeout=60)

    def close(self, failed):
        self.suite.__exit__(Exception if failed else None, None, None)


def _files_under(path):
    found = []
    for folder, _, files in os.walk(path):
        found += [os.path.join(folder, name) for name in files]
    return found


@contextlib.contextmanager
def running(mta_class, milters, default_action="tempfail", extra="", tls=False):
    """Starts mta_class with smtpd_milters = the specs of milters (objects with .spec, or
    strings as main.cf takes them), in order; yields the MTA; stops it."""
    specs = " ".join(m if isinstance(m, str) else m.spec for m in milters)
    mta = mta_class(f"smtpd_milters = {specs}\nmilter_default_action = {default_action}\n"
                    + extra, tls=tls)
    failed = True
    try:
        yield mta
        failed = False
    finally:
        mta.close(failed)


# ---- one SMTP transaction -------------------------------------------------------------------
class Outcome:
    """The replies of one SMTP session, stage by stage ("greeting", "ehlo", "mail",
    "rcpt <addr>", "data", "eom"), up to the first one that was not a success."""

    def __init__(self):
        self.replies = {}
        self.client_port = None  # our end of the SMTP connection, as the milter's connect sees it

    def add(self, stage, code, text):
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        self.replies[stage] = (code, text)

    def code(self, stage):
        return self.replies.get(stage, (None, None))[0]

    def text(self, stage):
        return self.replies.get(stage, (None, None))[1]

    def last_stage(self):
        return list(self.replies)[-1]

    def __repr__(self):
        return f"Outcome({self.replies!r})"


def make_message(tag, extra_headers=(), body="A test message.\nSecond line.\n"):
    """A message with its own Date and Message-ID (so no MTA adds its own), CRLF line ends."""
    lines = [f"From: Test Sender <{SENDER}>", f"To: <{DEMO}>", f"Subject: milter {tag}",
             "Date: Mon, 07 Dec 2026 12:00:00 +0000",
             f"Message-ID: <{tag}.{uuid.uuid4().hex}@{HELO}>", *extra_headers, ""]
    text = "\r\n".join(lines) + "\r\n" + body.replace("\n", "\r\n")
    return text.encode()


def send(mta, recipients=(DEMO,), message=None, sender=SENDER, helo=HELO, tag="test",
         starttls=False):
    """One SMTP session: EHLO, (STARTTLS and EHLO again,) MAIL, each RCPT, DATA, the message;
    stops at the first reply that is not a success (or when the server hangs up). Returns an
    Outcome."""
    if message is None:
        message = make_message(tag)
    outcome = Outcome()
    smtp = smtplib.SMTP(local_hostname=helo, timeout=SMTP_SECONDS)
    try:
        try:
            code, text = smtp.connect("127.0.0.1", mta.smtp_port)
        except smtplib.SMTPConnectError as error:
            outcome.add("greeting", error.smtp_code, error.smtp_error)
            return outcome
        outcome.add("greeting", code, text)
        outcome.client_port = smtp.sock.getsockname()[1]
        smtp._host = mta.hostname  # connect() leaves it empty; starttls() names it (SNI)
        code, text = smtp.ehlo(helo)
        outcome.add("ehlo", code, text)
        if code != 250:
            return outcome
        if starttls:
            # The test's own throwaway certificates: nothing to verify them against.
            code, text = smtp.starttls(context=ssl._create_unverified_context())
            outcome.add("starttls", code, text)
            code, text = smtp.ehlo(helo)
            outcome.add("ehlo after starttls", code, text)
            if code != 250:
                return outcome
        code, text = smtp.mail(sender)
        outcome.add("mail", code, text)
        if code != 250:
            return outcome
        accepted = 0
        for recipient in recipients:
            code, text = smtp.rcpt(recipient)
            outcome.add(f"rcpt {recipient}", code, text)
            accepted += code == 250
        if not accepted:
            return outcome
        code, text = smtp.docmd("DATA")
        outcome.add("data", code, text)
        if code != 354:
            return outcome
        stuffed = re.sub(rb"(?m)^\.", b"..", message)
        smtp.send(stuffed + (b"" if stuffed.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        code, text = smtp.getreply()
        outcome.add("eom", code, text)
        return outcome
    except smtplib.SMTPServerDisconnected as error:
        outcome.add("disconnected", None, str(error))
        return outcome
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def queue_id(outcome):
    """The queue ID in a "250 2.0.0 Ok: queued as ID" end-of-data reply."""
    found = re.search(r"queued as (\S+)", outcome.text("eom") or "")
    assert found, f"no queue ID in the end-of-data reply: {outcome}"
    return found.group(1)


def expect(outcome, stage, code, text=None):
    """The session ended at stage with code (and exactly text, if given)."""
    assert outcome.last_stage() == stage, f"wanted the session to end at {stage}: {outcome}"
    assert outcome.code(stage) == code, f"wanted {code} at {stage}: {outcome}"
    if text is not None:
        assert outcome.text(stage) == text, f"wanted {text!r} at {stage}: {outcome}"


def expect_delivered(outcome):
    assert outcome.last_stage() == "eom" and outcome.code("eom") == 250, \
        f"wanted the message accepted: {outcome}"


# ---- delivered messages ---------------------------------------------------------------------
def read_delivered(mta, address, count=1):
    """The count messages in address's Maildir, waited for; each as (headers, body) with
    headers [(name, value as stored after the colon, folding kept)] in order."""
    def enough():
        found = mta.messages(address)
        return found if len(found) >= count else None
    paths = wait_until(enough, DELIVERY_SECONDS, what=f"{count} messages for {address}")
    parsed = []
    for path in paths:
        with open(path, "rb") as f:
            raw = f.read().decode(errors="replace")
        head, _, body = raw.partition("\n\n")
        headers = []
        for line in head.split("\n"):
            if line[:1] in (" ", "\t") and headers:
                headers[-1] = (headers[-1][0], headers[-1][1] + "\n" + line)
            else:
                name, _, value = line.partition(":")
                headers.append((name, value))
        parsed.append((headers, body))
    return parsed


def header_names(headers):
    return [name for name, _ in headers]


def header_values(headers, name):
    return [value for n, value in headers if n.lower() == name.lower()]


def settle(mta):
    """Waits until nothing is between accepted and delivered, so that an empty Maildir means
    nothing will arrive."""
    wait_until(lambda: mta.in_flight() == 0, DELIVERY_SECONDS, what="the queue to settle")


def expect_nothing_delivered(mta, *addresses):
    settle(mta)
    for address in addresses or (DEMO,):
        assert not mta.messages(address), f"a message reached {address}"


def log_line(mta, pattern):
    """The first line of the MTA's log matching pattern, waited for (logs are written after the
    reply)."""
    def found():
        return next((line for line in mta.log().splitlines() if re.search(pattern, line)),
                    None)
    try:
        return wait_until(found, 10, what=f"a log line like {pattern!r}")
    except TimeoutError:
        raise AssertionError(f"no log line matches {pattern!r}:\n{mta.log()[-3000:]}")


# ---- what the milter saw --------------------------------------------------------------------
def sessions(milter):
    """The milter's events per MTA connection, in order of connection."""
    grouped = {}
    for event in milter.events():
        if "conn" in event:
            grouped.setdefault(event["conn"], []).append(event)
    return [grouped[conn] for conn in sorted(grouped)]


def mail_session(milter, outcome):
    """The milter's events for the SMTP session of outcome: the one whose connect names our
    client port (an MTA's start-up probe, which connects and hangs up, opens a milter session
    too)."""
    for events in sessions(milter):
        connect = [e for e in events if e["event"] == "connect"]
        if connect and connect[0]["port"] == outcome.client_port:
            return events
    raise AssertionError(f"no milter session for client port {outcome.client_port}; connects "
                         f"seen: {[e.get('port') for e in milter.events('connect')]}")


def first(events, kind):
    found = [e for e in events if e["event"] == kind]
    assert found, f"no {kind} event in {[e['event'] for e in events]}"
    return found[0]


def macros_first_seen(events):
    """{macro: the first event kind at which libmilter had it}: where each macro arrived
    (libmilter keeps a stage's macros visible at the later stages)."""
    seen = {}
    for event in events:
        for name in event.get("macros", {}):
            seen.setdefault(name, event["event"])
    return seen


# ---- scenarios: what a milter sees ----------------------------------------------------------
def scenario_pass_through_and_macros(mta_class):
    with TestMilter() as milter, running(mta_class, [milter]) as mta:
        body = "First line.\n.leading dot\nlast line\n"
        message = make_message("pass", ["X-Spaces:   three spaces", "X-Folded: first\r\n\tsecond"],
                               body)
        outcome = send(mta, [DEMO, ALICE], message)
        expect_delivered(outcome)
        headers, stored_body = read_delivered(mta, DEMO)[0]
        assert stored_body == body, f"body changed on the way: {stored_body!r}"
        events = mail_session(milter, outcome)
        kinds = [e["event"] for e in events]
        # The protocol order, one callback per step; the body comes in one chunk here.
        expected = (["negotiate", "connect", "helo", "envfrom", "envrcpt", "envrcpt", "data"]
                    + ["header"] * 7 + ["eoh", "body", "eom"])
        assert kinds[:len(expected)] == expected, kinds
        connect = first(events, "connect")
        assert (connect["family"], connect["address"]) == ("inet", "127.0.0.1"), connect
        assert first(events, "helo")["helo"] == HELO, events
        assert first(events, "envfrom")["args"] == [f"<{SENDER}>"], events
        rcpt_args = [e["args"] for e in events if e["event"] == "envrcpt"]
        assert rcpt_args == [[f"<{DEMO}>"], [f"<{ALICE}>"]], rcpt_args
        # Header values: the one space after the colon is not part of the value (no
        # SMFIP_HDR_LEADSPC); the others stay; folding arrives as LF + TAB, not CRLF. The
        # MTA's own Received: header is not shown to the milter.
        seen = [(e["name"], e["value"]) for e in events if e["event"] == "header"]
        assert seen[0] == ("From", f"Test Sender <{SENDER}>"), seen
        assert ("X-Spaces", "  three spaces") in seen, seen
        assert ("X-Folded", "first\n\tsecond") in seen, seen
        assert "Received" not in [name for name, _ in seen], seen
        # The body as sent on the wire, CRLF, dot-stuffing undone.
        assert first(events, "eom")["body_total"] == len(body.replace("\n", "\r\n")), events

        # Macros, with Postfix's default milter_*_macros: where each arrives first.
        arrived = macros_first_seen(events)
        connect_macros = first(events, "connect")["macros"]
        assert connect_macros["j"] == mta.hostname, connect_macros
        assert connect_macros["{daemon_name}"] == mta.hostname, connect_macros
        assert connect_macros["{daemon_addr}"] == "127.0.0.1", connect_macros
        assert connect_macros["_"].endswith("[127.0.0.1]"), connect_macros
        assert connect_macros.get("v"), connect_macros
        envfrom_macros = first(events, "envfrom")["macros"]
        assert envfrom_macros["{mail_addr}"] == SENDER, envfrom_macros
        assert envfrom_macros["{mail_mailer}"] == "smtp", envfrom_macros
        assert envfrom_macros["{mail_host}"] == "peer.invalid", envfrom_macros
        rcpt_macros = [e["macros"] for e in events if e["event"] == "envrcpt"]
        assert [m["{rcpt_addr}"] for m in rcpt_macros] == [DEMO, ALICE], rcpt_macros
        assert rcpt_macros[0]["{rcpt_host}"] == DOMAIN, rcpt_macros
        # The queue ID: Postfix has one only once the first RCPT is accepted, so `i` arrives
        # with the second RCPT (and at DATA); Postern may send it earlier. From DATA on it is
        # there, and it is the ID of the 250 reply.
        assert first(events, "data")["macros"].get("i") == queue_id(outcome), events
        assert first(events, "eom")["macros"].get("i") == queue_id(outcome), events
        # No TLS and no AUTH in this session: none of those macros are sent at all.
        for absent in ("{tls_version}", "{cipher}", "{auth_type}", "{auth_authen}"):
            assert absent not in arrived, arrived


def scenario_leading_space(mta_class):
    # With SMFIP_HDR_LEADSPC the values keep every byte after the colon, and the milter's own
    # values go in as given: " spaced" is stored as "X-Lead: spaced", not with two spaces.
    with TestMilter("add-header:X-Lead: spaced", leading_space=True) as milter, \
            running(mta_class, [milter]) as mta:
        outcome = send(mta, message=make_message("leadspc", ["X-Spaces:   three spaces",
                                                             "X-None:none"]))
        expect_delivered(outcome)
        events = mail_session(milter, outcome)
        seen = dict((e["name"], e["value"]) for e in events if e["event"] == "header")
        assert seen["Subject"] == " milter leadspc", seen
        assert seen["X-Spaces"] == "   three spaces", seen
        assert seen["X-None"] == "none", seen
        assert first(events, "negotiate")["steps"] & 0x100000, "SMFIP_HDR_LEADSPC not agreed"
        headers, _ = read_delivered(mta, DEMO)[0]
        assert header_values(headers, "X-Lead") == [" spaced"], headers
        assert header_values(headers, "X-None") == ["none"], headers


def scenario_no_reply_flags(mta_class):
    # rspamd's way: SMFIP_NR_* on every step but end-of-message. An MTA that waited for a
    # reply would stall for milter_command_timeout at the first step; 10 s says it did not.
    with TestMilter("add-header:X-No-Reply:yes", no_reply=True) as milter, \
            running(mta_class, [milter], extra="milter_command_timeout = 20s\n") as mta:
        started = time.monotonic()
        outcome = send(mta, tag="noreply")
        expect_delivered(outcome)
        assert time.monotonic() - started < 10, "the MTA waited for replies the milter skips"
        nr_flags = 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x80
        steps = first(mail_session(milter, outcome), "negotiate")["steps"]
        assert steps & nr_flags == nr_flags, f"no-reply flags not agreed: {steps:#x}"
        headers, _ = read_delivered(mta, DEMO)[0]
        assert header_values(headers, "X-No-Reply") == [" yes"], headers


def scenario_milter_protocol_2(mta_class):
    # milter_protocol = 2: no DATA step (it came with version 4), no SKIP and no leading-space
    # option; the milter's end-of-message edits still apply.
    with TestMilter("add-header:X-Protocol:two") as milter, \
            running(mta_class, [milter], extra="milter_protocol = 2\n") as mta:
        outcome = send(mta, tag="proto2")
        expect_delivered(outcome)
        events = mail_session(milter, outcome)
        kinds = [e["event"] for e in events]
        assert "data" not in kinds and "eom" in kinds and "header" in kinds, kinds
        # (libmilter shows the SMFIP_NR_* flags as offered whatever the version: it answers
        # for the milter itself when the MTA is older than 6.)
        offered = first(events, "negotiate")["offered_steps"]
        assert not offered & (0x400 | 0x100000), f"SKIP or HDR_LEADSPC offered: {offered:#x}"
        headers, _ = read_delivered(mta, DEMO)[0]
        assert header_values(headers, "X-Protocol") == [" two"], headers


def scenario_symlist(mta_class):
    # smfi_setsymlist replaces the MTA's macro list for that stage.
    with TestMilter(symlists=[("connect", "{client_addr} {client_port}"),
                              ("mail", "{mail_addr} {client_name}")]) as milter, \
            running(mta_class, [milter]) as mta:
        outcome = send(mta, tag="symlist")
        expect_delivered(outcome)
        events = mail_session(milter, outcome)
        connect_macros = first(events, "connect")["macros"]
        assert connect_macros.get("{client_addr}") == "127.0.0.1", connect_macros
        assert connect_macros.get("{client_port}", "").isdigit(), connect_macros
        assert "j" not in connect_macros and "{daemon_name}" not in connect_macros, \
            f"macros of the default list came anyway: {connect_macros}"
        envfrom_macros = first(events, "envfrom")["macros"]
        assert envfrom_macros.get("{mail_addr}") == SENDER, envfrom_macros
        assert "{client_name}" in envfrom_macros, envfrom_macros
        assert "{mail_mailer}" not in envfrom_macros, envfrom_macros


def scenario_tls_macros(mta_class):
    # The TLS macros come with HELO (milter_helo_macros), for the EHLO after STARTTLS
    # (Postfix: {tls_version} TLSv1.3, {cipher} TLS_AES_256_GCM_SHA384, {cipher_bits} 256).
    with TestMilter() as milter, running(mta_class, [milter], tls=True) as mta:
        outcome = send(mta, tag="tls", starttls=True)
        expect_delivered(outcome)
        events = mail_session(milter, outcome)
        # The milter hears HELO twice, before STARTTLS and after it.
        helos = [e for e in events if e["event"] == "helo"]
        assert len(helos) == 2, helos
        assert "{tls_version}" not in helos[0]["macros"], helos
        after = helos[-1]["macros"]
        assert after.get("{tls_version}", "").startswith("TLSv1."), after
        assert after.get("{cipher}") and after.get("{cipher_bits}", "").isdigit(), after
        # No client certificate: no certificate macros.
        assert "{cert_subject}" not in after and "{cert_issuer}" not in after, after


# ---- scenarios: refusals at each stage ------------------------------------------------------
def scenario_reject_connect(mta_class):
    with TestMilter("reject-connect") as milter, running(mta_class, [milter]) as mta:
        outcome = send(mta, tag="rejconn")
        # Postfix greets with "554 <myhostname> ESMTP not accepting connections", still answers
        # EHLO (250, with ENHANCEDSTATUSCODES only), and rejects MAIL with the milter's reply.
        assert outcome.code("greeting") == 554, outcome
        assert outcome.text("greeting").startswith(mta.hostname + " "), outcome
        assert outcome.code("ehlo") == 250, outcome
        expect(outcome, "mail", 550, DEFAULT_REJECT)
        log_line(mta, r"NOQUEUE: milter-reject: CONNECT from \S+\[127\.0\.0\.1\]: 550 5\.7\.1 "
                      r"Command rejected; proto=SMTP")
        # The milter's session ends after connect: it hears nothing of EHLO or MAIL.
        assert not milter.events("helo") and not milter.events("envfrom"), milter.events()
        expect_nothing_delivered(mta)


def scenario_reject_helo(mta_class):
    with TestMilter("reject-helo") as milter, running(mta_class, [milter]) as mta:
        outcome = send(mta, tag="rejhelo")
        # EHLO itself still gets its 250; the reject comes at MAIL, logged under the verb the
        # client used.
        assert outcome.code("ehlo") == 250, outcome
        expect(outcome, "mail", 550, DEFAULT_REJECT)
        log_line(mta, r"NOQUEUE: milter-reject: EHLO from \S+\[127\.0\.0\.1\]: 550 5\.7\.1 "
                      rf"Command rejected; proto=SMTP helo=<{HELO}>")
        expect_nothing_delivered(mta)


def scenario_reject_mail(mta_class):
    with TestMilter("reject-mail") as milter, running(mta_class, [milter]) as mta:
        outcome = send(mta, tag="rejmail")
        expect(outcome, "mail", 550, DEFAULT_REJECT)
        log_line(mta, r"NOQUEUE: milter-reject: MAIL from \S+\[127\.0\.0\.1\]: 550 5\.7\.1 "
                      rf"Command rejected; from=<{SENDER}> proto=ESMTP helo=<{HELO}>")
        expect_nothing_delivered(mta)


def scenario_reject_one_rcpt(mta_class):
    with TestMilter(f"reject-rcpt:{ALICE}") as milter, running(mta_class, [milter]) as mta:
        outcome = send(mta, [DEMO, ALICE, BOB], tag="rejrcpt")
        expect_delivered(outcome)
        assert outcome.code(f"rcpt {DEMO}") == 250, outcome
        assert outcome.replies[f"rcpt {ALICE}"] == (550, DEFAULT_REJECT), outcome
        assert outcome.code(f"rcpt {BOB}") == 250, outcome
        read_delivered(mta, DEMO)
        read_delivered(mta, BOB)
        expect_nothing_delivered(mta, ALICE)
        log_line(mta, rf"milter-reject: RCPT from \S+\[127\.0\.0\.1\]: 550 5\.7\.1 Command "
                      rf"rejected; from=<{SENDER}> to=<{ALICE}> proto=ESMTP helo=<{HELO}>")


def scenario_tempfail_data(mta_class):
    with TestMilter("tempfail-data") as milter, running(mta_class, [milter]) as mta:
        outcome = send(mta, tag="tfdata")
        expect(outcome, "data", 451, DEFAULT_TEMPFAIL)
        log_line(mta, r"milter-reject: DATA from \S+\[127\.0\.0\.1\]: 451 4\.7\.1 Service "
                      r"unavailable - try again later;")
        expect_nothing_delivered(mta)


def scenario_reject_eom(mta_class):
    with TestMilter("reject-eom") as milter, running(mta_class, [milter]) as mta:
        outcome = send(mta, tag="rejeom")
        expect(outcome, "eom", 550, DEFAULT_REJECT)
        log_line(mta, r"^.*\b[0-9A-Za-z]+: milter-reject: END-OF-MESSAGE from "
                      r"\S+\[127\.0\.0\.1\]: 5\.7\.1 Command rejected; "
                      rf"from=<{SENDER}> to=<{DEMO}> proto=ESMTP helo=<{HELO}>$")
        expect_nothing_delivered(mta)


def scenario_custom_reply_eom(mta_class):
    with TestMilter("reply-eom:550 5.7.1 Custom words from the milter") as milter, \
            running(mta_class, [milter]) as mta:
        outcome = send(mta, tag="reply550")
        # The milter's text word for word.
        expect(outcome, "eom", 550, "5.7.1 Custom words from the milter")
        log_line(mta, r"milter-reject: END-OF-MESSAGE from \S+: 5\.7\.1 Custom words from the "
                      r"milter;")
        expect_nothing_delivered(mta)
    with TestMilter("reply-eom:451 4.7.1 Come back later") as milter, \
            running(mta_class, [milter]) as mta:
        outcome = send(mta, tag="reply451")
        expect(outcome, "eom", 451, "4.7.1 Come back later")
        expect_nothing_delivered(mta)


def scenario_multiline_reply(mta_class):
    with TestMilter("multiline-eom") as milter, running(mta_class, [milter]) as mta:
        outcome = send(mta, tag="multiline")
        # smtplib joins the lines with "\n" after taking "550-" / "550 " off each: every line
        # carries the enhanced code.
        expect(outcome, "eom", 550, "5.7.1 test-milter multi-line reject, line one\n"
                                    "5.7.1 line two\n5.7.1 line three")
        expect_nothing_delivered(mta)


def scenario_discard(mta_class):
    with TestMilter("discard-eom") as milter, running(mta_class, [milter]) as mta:
        outcome = send(mta, [DEMO, ALICE], tag="discard")
        expect_delivered(outcome)   # the client hears 250: the message is gone silently
        # Logged by cleanup; to= names one recipient (Postfix: the last RCPT, here alice).
        log_line(mta, r"milter-discard: END-OF-MESSAGE from \S+\[127\.0\.0\.1\]: milter "
                      rf"triggers DISCARD action; from=<{SENDER}> to=<(demo|alice)@{DOMAIN}> "
                      rf"proto=ESMTP helo=<{HELO}>")
        expect_nothing_delivered(mta, DEMO, ALICE)
        assert not mta.held(), mta.held()


def scenario_quarantine(mta_class):
    with TestMilter("quarantine:held for review") as milter, running(mta_class, [milter]) as mta:
        outcome = send(mta, tag="quarantine")
        expect_delivered(outcome)
        held = wait_until(mta.held, 10, what="a file in the hold queue")
        assert [os.path.basename(p) for p in held] == [queue_id(outcome)], held
        log_line(mta, rf"{queue_id(outcome)}: milter-hold: END-OF-MESSAGE from "
                      r"\S+\[127\.0\.0\.1\]: milter triggers HOLD action; "
                      rf"from=<{SENDER}> to=<{DEMO}> proto=ESMTP helo=<{HELO}>")
        expect_nothing_delivered(mta)


# ---- scenarios: edits ------------------------------------------------------------------------
def scenario_header_edits(mta_class):
    with TestMilter("add-header:X-Added:added value",
                    "insert-header:1:X-Inserted-1:at one",
                    "insert-header:0:X-Inserted-0:at zero",
                    "change-header:Subject:1:changed subject",
                    "change-header:X-Remove:1:",
                    "change-header:X-Twice:2:second changed") as milter, \
            running(mta_class, [milter]) as mta:
        outcome = send(mta, message=make_message("headers", ["X-Remove: to be removed",
                                                             "X-Twice: one", "X-Twice: two"]))
        expect_delivered(outcome)
        headers, _ = read_delivered(mta, DEMO)[0]
        names = header_names(headers)
        # Appended after the last header; the value gets one space after the colon.
        assert names[-1] == "X-Added", names
        assert header_values(headers, "X-Added") == [" added value"], headers
        # The MTA's own Received: is not shown to milters, yet smfi_insheader's index counts it
        # (and the headers inserted before): index 1 (done first) lands between Received: and
        # From:, index 0 above Received:, at the top of the message as the MTA stored it (the
        # delivery agent's Return-Path/Delivered-To come later, above it).
        received = names.index("Received")
        assert names[received - 1:received + 3] == ["X-Inserted-0", "Received", "X-Inserted-1",
                                                    "From"], names
        assert header_values(headers, "Subject") == [" changed subject"], headers
        assert "X-Remove" not in names, names
        assert header_values(headers, "X-Twice") == [" one", " second changed"], headers


def scenario_replace_body(mta_class):
    with TestMilter("replace-body:Replaced by the milter.\\nSecond new line.") as milter, \
            running(mta_class, [milter]) as mta:
        expect_delivered(send(mta, tag="body"))
        headers, body = read_delivered(mta, DEMO)[0]
        assert body == "Replaced by the milter.\nSecond new line.\n", repr(body)
        assert header_values(headers, "Subject") == [" milter body"], headers


def scenario_recipient_edits(mta_class):
    # smfi_delrcpt takes the address as xxfi_envrcpt had it ("<...>"); Postfix matches it
    # without the brackets too.
    with TestMilter(f"add-rcpt:{BOB}", f"del-rcpt:<{ALICE}>") as milter, \
            running(mta_class, [milter]) as mta:
        outcome = send(mta, [DEMO, ALICE], tag="rcpts")
        expect_delivered(outcome)
        read_delivered(mta, DEMO)
        headers, _ = read_delivered(mta, BOB)[0]
        assert header_values(headers, "Delivered-To") == [f" {BOB}"], headers
        expect_nothing_delivered(mta, ALICE)


def scenario_add_rcpt_with_args(mta_class):
    with TestMilter(f"add-rcpt-par:<{BOB}>:NOTIFY=NEVER") as milter, \
            running(mta_class, [milter]) as mta:
        expect_delivered(send(mta, tag="rcptpar"))
        read_delivered(mta, DEMO)
        read_delivered(mta, BOB)
        assert not [e for e in milter.events("call_failed")], milter.events("call_failed")


def scenario_change_from(mta_class):
    with TestMilter("change-from:<changed@peer.invalid>") as milter, \
            running(mta_class, [milter]) as mta:
        expect_delivered(send(mta, tag="chgfrom"))
        headers, _ = read_delivered(mta, DEMO)[0]
        assert headers[0] == ("Return-Path", " <changed@peer.invalid>"), headers[:3]
        # The From: header is the message's and stays.
        assert header_values(headers, "From") == [f" Test Sender <{SENDER}>"], headers


def scenario_non_smtpd_milters(mta_class):
    # Mail from the sendmail command goes through non_smtpd_milters, not smtpd_milters.
    with TestMilter("add-header:X-Local:yes") as local, \
            TestMilter("add-header:X-Smtpd:wrong") as smtpd, \
            running(mta_class, [smtpd],
                    extra=f"non_smtpd_milters = {local.spec}\n") as mta:
        message = make_message("local").replace(b"\r\n", b"\n")
        done = mta.submit_local(SENDER, DEMO, message)
        assert done.returncode == 0, done
        headers, _ = read_delivered(mta, DEMO)[0]
        assert header_values(headers, "X-Local") == [" yes"], headers
        assert "X-Smtpd" not in header_names(headers), headers
        events = [e for e in local.events() if "conn" in e]
        kinds = [e["event"] for e in events]
        for step in ("connect", "helo", "envfrom", "envrcpt", "header", "eoh", "eom"):
            assert step in kinds, kinds
        # Postfix plays an SMTP session for the milter: connect "localhost", inet 127.0.0.1
        # port 0, HELO "localhost", and envelope addresses without <> ("sender@peer.invalid").
        assert first(events, "envfrom")["args"][0].strip("<>") == SENDER, events
        assert first(events, "envrcpt")["args"][0].strip("<>") == DEMO, events
        # The queue ID is known from the start here: `i` arrives with MAIL.
        assert first(events, "eom")["macros"].get("i"), events
        assert first(events, "envfrom")["macros"].get("{mail_addr}") == SENDER, events


def scenario_skip_body(mta_class):
    # A body of several chunks: after SKIP on the first, the milter gets no more (end of
    # message comes at once), and the message is stored whole.
    line = "0123456789" * 7 + "\n"
    body = line * 3000   # 213 KB: more than three 64 KiB chunks
    with TestMilter("skip") as milter, running(mta_class, [milter]) as mta:
        outcome = send(mta, message=make_message("skip", body=body))
        expect_delivered(outcome)
        events = mail_session(milter, outcome)
        chunks = [e["size"] for e in events if e["event"] == "body"]
        assert len(chunks) == 1, f"body chunks after SKIP: {chunks}"
        assert first(events, "eom")["body_total"] == chunks[0], events[-3:]
        _, stored = read_delivered(mta, DEMO)[0]
        assert stored == body, "the body was cut"


def scenario_accept_connect(mta_class):
    # SMFIS_ACCEPT at connect: no more callbacks for this connection, and the mail goes through
    # unchanged (the milter's end-of-message edits never happen).
    with TestMilter("accept-connect", "add-header:X-Never:added") as milter, \
            running(mta_class, [milter]) as mta:
        outcome = send(mta, tag="acceptconn")
        expect_delivered(outcome)
        headers, _ = read_delivered(mta, DEMO)[0]
        assert "X-Never" not in header_names(headers), headers
        kinds = [e["event"] for e in mail_session(milter, outcome)]
        assert "connect" in kinds, kinds
        assert not set(kinds) & {"helo", "envfrom", "envrcpt", "header", "body", "eom"}, kinds


def scenario_two_milters_in_order(mta_class):
    # The second milter sees the first one's edits (Postfix runs each milter's content steps
    # after the previous milter's end-of-message).
    with TestMilter("add-header:X-First:one", "change-header:Subject:1:rewritten by first") \
            as first_milter, TestMilter("add-header:X-Second:two") as second_milter, \
            running(mta_class, [first_milter, second_milter]) as mta:
        outcome = send(mta, tag="order")
        expect_delivered(outcome)
        seen = [(e["name"], e["value"]) for e in mail_session(second_milter, outcome)
                if e["event"] == "header"]
        assert ("X-First", "one") in seen, seen
        assert ("Subject", "rewritten by first") in seen, seen
        first_seen = [e["name"] for e in mail_session(first_milter, outcome)
                      if e["event"] == "header"]
        assert "X-Second" not in first_seen, first_seen
        headers, _ = read_delivered(mta, DEMO)[0]
        names = header_names(headers)
        assert names.index("X-First") < names.index("X-Second"), names


# ---- scenarios: broken milters -----------------------------------------------------------------
def _fault_sessions(mta, stage, code, text):
    """Two clients in a row both get code at stage: the MTA stays up and serves the next."""
    for attempt in (1, 2):
        started = time.monotonic()
        outcome = send(mta, tag=f"fault{attempt}")
        assert outcome.code("greeting") == 220, outcome
        expect(outcome, stage, code, text)
        assert time.monotonic() - started < 20, f"attempt {attempt} took too long"


# A milter that fails before or during the option negotiation (refused, silent past
# milter_command_timeout, garbage): Postfix logs the 451 at CONNECT, still greets with 220 (the
# silent one delays the greeting by the timeout) and answers EHLO with 250, and the client
# gets the 451 at MAIL FROM.
CONNECT_TEMPFAIL_LOG = (r"NOQUEUE: milter-reject: CONNECT from \S+\[127\.0\.0\.1\]: 451 4\.7\.1 "
                        r"Service unavailable - try again later; proto=SMTP")


def scenario_not_listening_tempfail(mta_class):
    with running(mta_class, [not_listening_spec()], extra=FAULT_TIMEOUTS) as mta:
        _fault_sessions(mta, "mail", 451, DEFAULT_TEMPFAIL)
        log_line(mta, CONNECT_TEMPFAIL_LOG)
        expect_nothing_delivered(mta)


def scenario_silent_tempfail(mta_class):
    with SilentMilter() as milter, running(mta_class, [milter], extra=FAULT_TIMEOUTS) as mta:
        _fault_sessions(mta, "mail", 451, DEFAULT_TEMPFAIL)
        assert milter.connections >= 2, f"{milter.connections} connections to the milter"
        log_line(mta, CONNECT_TEMPFAIL_LOG)
        expect_nothing_delivered(mta)


def scenario_garbage_tempfail(mta_class):
    with GarbageMilter() as milter, running(mta_class, [milter], extra=FAULT_TIMEOUTS) as mta:
        _fault_sessions(mta, "mail", 451, DEFAULT_TEMPFAIL)
        assert milter.connections >= 2, f"{milter.connections} connections to the milter"
        log_line(mta, CONNECT_TEMPFAIL_LOG)
        expect_nothing_delivered(mta)


def scenario_close_mid_body_tempfail(mta_class):
    # The milter goes away while the message is streamed: the 451 answers the end of data.
    with CloseMidBodyMilter() as milter, \
            running(mta_class, [milter], extra=FAULT_TIMEOUTS) as mta:
        _fault_sessions(mta, "eom", 451, DEFAULT_TEMPFAIL)
        assert "B" in milter.commands, milter.commands
        log_line(mta, r"[0-9A-Za-z]+: milter-reject: END-OF-MESSAGE from \S+\[127\.0\.0\.1\]: "
                      rf"4\.7\.1 Service unavailable - try again later; from=<{SENDER}> "
                      rf"to=<{DEMO}> proto=ESMTP helo=<{HELO}>")
        expect_nothing_delivered(mta)


def scenario_faults_accept(mta_class):
    # milter_default_action = accept: each broken milter is passed over and the mail goes in.
    for make in (not_listening_spec, SilentMilter, GarbageMilter, CloseMidBodyMilter):
        with contextlib.ExitStack() as stack:
            milter = make()
            if not isinstance(milter, str):
                stack.enter_context(milter)
            mta = stack.enter_context(running(mta_class, [milter], default_action="accept",
                                              extra=FAULT_TIMEOUTS))
            outcome = send(mta, tag="faultaccept")
            assert outcome.code("eom") == 250, f"{make.__name__}: {outcome}"
            read_delivered(mta, DEMO)
            if not isinstance(milter, str):
                assert milter.connections >= 1, f"{make.__name__}: the MTA never connected"
            if make is CloseMidBodyMilter:
                assert "B" in milter.commands, milter.commands


def scenario_per_milter_settings(mta_class):
    # Postfix's per-milter form overrides milter_default_action and the timeouts for that
    # milter only: the dead and the silent milter (given 1 s instead of the global 30 s) are
    # passed over, and the working milter after them still runs.
    dead = not_listening_spec()
    with SilentMilter() as silent, TestMilter("add-header:X-After-Faults:yes") as working, \
            running(mta_class, [f"{{ {dead}, default_action=accept }}",
                                f"{{ {silent.spec}, command_timeout=1s, default_action=accept }}",
                                working],
                    default_action="tempfail", extra="milter_command_timeout = 30s\n") as mta:
        started = time.monotonic()
        outcome = send(mta, tag="permilter")
        expect_delivered(outcome)
        assert time.monotonic() - started < 15, "the per-milter command_timeout was not used"
        assert silent.connections >= 1, "the MTA never connected to the silent milter"
        headers, _ = read_delivered(mta, DEMO)[0]
        assert header_values(headers, "X-After-Faults") == [" yes"], headers


SCENARIOS = [
    # what a milter sees
    scenario_pass_through_and_macros, scenario_leading_space, scenario_no_reply_flags,
    scenario_milter_protocol_2, scenario_symlist, scenario_tls_macros,
    # refusals at each stage
    scenario_reject_connect, scenario_reject_helo, scenario_reject_mail, scenario_reject_one_rcpt,
    scenario_tempfail_data, scenario_reject_eom, scenario_custom_reply_eom,
    scenario_multiline_reply, scenario_discard, scenario_quarantine,
    # edits, and how milters chain
    scenario_header_edits, scenario_replace_body, scenario_recipient_edits,
    scenario_add_rcpt_with_args, scenario_change_from, scenario_non_smtpd_milters,
    scenario_skip_body, scenario_accept_connect, scenario_two_milters_in_order,
    # broken milters
    scenario_not_listening_tempfail, scenario_silent_tempfail, scenario_garbage_tempfail,
    scenario_close_mid_body_tempfail, scenario_faults_accept, scenario_per_milter_settings,
]
MTAS = {"postfix": PostfixMTA, "postern": PosternMTA}


def selected(argv):
    """(MTA classes, scenarios) from argv / POSTERN_MILTER_MTAS; both MTAs, every scenario by
    default."""
    words = argv or os.environ.get("POSTERN_MILTER_MTAS", "").replace(",", " ").split()
    mtas = [MTAS[w] for w in words if w in MTAS] or list(MTAS.values())
    names = [w for w in words if w not in MTAS]
    scenarios = [s for s in SCENARIOS if not names or s.__name__.removeprefix("scenario_")
                 in names]
    unknown = set(names) - {s.__name__.removeprefix("scenario_") for s in SCENARIOS}
    if unknown:
        raise SystemExit(f"unknown scenario or MTA: {' '.join(sorted(unknown))}")
    return mtas, scenarios


def main():
    mtas, scenarios = selected(sys.argv[1:])
    reason = test_milter_unavailable_reason()
    if reason:
        skip_test(reason)
    if PostfixMTA in mtas:
        reason = postfix_unavailable_reason()
        if reason:
            skip_test(f"real Postfix needed as the reference: {reason}")
    tests = []
    for mta_class in mtas:
        for scenario in scenarios:
            def test(mta_class=mta_class, scenario=scenario):
                scenario(mta_class)
            test.__name__ = f"{mta_class.name}.{scenario.__name__.removeprefix('scenario_')}"
            tests.append(test)
    run_tests(tests)


if __name__ == "__main__":
    main()
