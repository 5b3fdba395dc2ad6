#!/usr/bin/env python3
"""Peer test (issue 14): postern-authmilter plugged into Debian's Postfix, run by hand beside it
(`postern-authmilter -c DIR -S -- inet:PORT@127.0.0.1`), two milters and two throwaway Postfix
instances (tests/harness/postfix_instance.py), one dnsmasq holding the test's zone, all on
loopback:

    client -> Postfix A (relay) ----------------------> Postfix B (receiver, receiver.test)
              smtpd_milters = signing authmilter         smtpd_milters = checking authmilter
              + a second smtpd port with                 (authmilter_authserv_id
                -o milter_macro_daemon_name=ORIGINATING    mx.receiver.test)

1. Signing: a message sent to A's ORIGINATING port goes through the signing milter (keys made by
   `postern dkim keygen`: one RSA, one Ed25519; mynetworks left empty, so only {daemon_name}
   makes the mail ours) and reaches B with two DKIM-Signature fields, each verified on its own by
   python3-dkim (dkim.verify with a dnsfunc answering from `postern dns --json`'s records), a
   body of over 256 KB (several BODY packets from Postfix) too. A message from the same sender
   on A's plain port is checked by that milter, never signed.
2. Verifying at B: (a) the signed message from A (SPF allows 127.0.0.1, _dmarc says p=reject)
   gets one Authentication-Results with B's milter's authserv-id, spf=pass, dkim=pass twice,
   dmarc=pass; (b) a stranger forging From: on B's port 25 gets dmarc=fail, and the
   Authentication-Results it brought claiming B's authserv-id (the second of two) is removed,
   the other kept; after the milter is restarted with dmarc_enforcement = yes in its main.cf,
   Postfix answers that DATA with 550 5.7.1 and the milter's text, while the signed message from
   A still gets through. Every verdict line in the milters' logs starts with the queue ID Postfix
   gave the message (Postfix names it only from the end of the headers on).
3. Postfix's leading-space handling: the signer uses simple/simple canonicalization and the
   message has header fields with no space, several spaces and a tab after the colon, so the
   signatures only verify (at B's milter and with python3-dkim) if the header bytes authmilter
   signed are those Postfix stored; the stored DKIM-Signature has exactly one space after its
   colon. That the verifiers can say no is shown too: a changed body byte, or one more space in
   a signed header of the stored message, fails both signatures.

Exit 77 with the reason when Postfix, dnsmasq, python3-dkim (with Ed25519: python3-nacl) or a
built postern-authmilter is missing, or when not root (Postfix's master needs it). Every wait is
bounded; only processes this test started are stopped, by their PID.
"""
import importlib
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from postern_harness import (BIN_DIR, MAIL_OWNER_WHEN_ROOT, free_port,  # noqa: E402
                             skip_test, wait_until)
from postfix_instance import PostfixInstance, postfix_unavailable_reason  # noqa: E402
from real_milters import import_dkim  # noqa: E402
from relay_peers import (DNSMASQ, Dnsmasq, _stop_process, header_fields,  # noqa: E402
                         split_header, temp_dir)

AUTHMILTER = os.path.join(BIN_DIR, "postern-authmilter")
POSTERN = os.path.join(BIN_DIR, "postern")
SENDER_DOMAIN = "example.test"
RECEIVER_DOMAIN = "receiver.test"
SIGNER_AUTHSERV_ID = "signer.example.test"
RECEIVER_AUTHSERV_ID = "mx.receiver.test"
KEYS = (("r2026", "rsa"), ("e2026", "ed25519"))
DEMO = f"demo@{SENDER_DOMAIN}"
BOB = f"bob@{RECEIVER_DOMAIN}"
DELIVERY_TIMEOUT = 60.0
MILTER_START_TIMEOUT = 20.0


class Authmilter:
    """postern-authmilter started by hand on inet:PORT@127.0.0.1 with a config folder of its
    own (main.cf, and dkim/ for the signer), logging to a file; stopped by its PID."""

    def __init__(self, directory, name, main_cf_extra=""):
        self.name = name
        self.etc = os.path.join(directory, name)
        os.makedirs(self.etc)
        os.chmod(self.etc, 0o755)  # mail_owner reads dkim/ after the privilege drop
        self.port = free_port()
        self.log_path = os.path.join(directory, f"{name}.log")
        self.process = None
        self._log = None
        self.write_main_cf(main_cf_extra)

    @property
    def spec(self):
        """The milter as Postfix names it in smtpd_milters."""
        return f"inet:127.0.0.1:{self.port}"

    def write_main_cf(self, extra):
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"# main.cf of {self.name}, written by tests/peer/test_authmilter_postfix.py\n"
                    f"mail_owner = {MAIL_OWNER_WHEN_ROOT}\n"
                    f"myhostname = {self.name}.peer.test\n"
                    f"dkim_key_directory = {os.path.join(self.etc, 'dkim')}\n"
                    + extra)

    def postern(self, *args):
        done = subprocess.run([POSTERN, "-c", self.etc, *args], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, (args, done.returncode, done.stdout, done.stderr)
        return done

    def start(self):
        started_at = len(self.log())
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [AUTHMILTER, "-c", self.etc, "-S", "--", f"inet:{self.port}@127.0.0.1"],
            stdout=self._log, stderr=subprocess.STDOUT)

        def listening():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n"
                                   + self.log())
            # logged once libmilter's socket listens (smfi_opensocket succeeded)
            return "listening on" in self.log()[started_at:]
        wait_until(listening, MILTER_START_TIMEOUT, 0.05, f"{self.name} to listen")

    def restart(self, main_cf_extra):
        self.stop()
        self.write_main_cf(main_cf_extra)
        self.start()

    def stop(self):
        try:
            _stop_process(self.process)
        finally:
            self.process = None
            if self._log:
                self._log.close()
                self._log = None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""


def skip_reason():
    if not os.access(AUTHMILTER, os.X_OK):
        return f"{AUTHMILTER} is not built (libmilter-dev missing?)"
    if not os.access(POSTERN, os.X_OK):
        return f"{POSTERN} is not built (it makes the DKIM keys)"
    reason = postfix_unavailable_reason()
    if reason:
        return reason
    if not os.access(DNSMASQ, os.X_OK):
        return "dnsmasq is not installed (Debian dnsmasq-base; scripts/install-deps)"
    try:
        dkim = import_dkim()
    except ImportError:
        return "python3-dkim is not installed (scripts/install-deps)"
    try:
        importlib.import_module("nacl.signing")  # python3-dkim's Ed25519 (python3-nacl)
    except ImportError:
        return "python3-nacl is missing: python3-dkim cannot verify Ed25519 signatures"
    if not hasattr(dkim, "DKIM"):
        return "this python3-dkim has no dkim.DKIM"
    return None


def txt_option(name, text):
    """A dnsmasq --txt-record option, the text cut into 255-byte character-strings (no quotes:
    on the command line dnsmasq would keep them; the texts here have no commas)."""
    parts = [text[i:i + 255] for i in range(0, len(text), 255)]
    return f"--txt-record={name}," + ",".join(parts)


def make_keys(signer):
    """An RSA and an Ed25519 key for SENDER_DOMAIN in the signer's dkim/ (owned by mail_owner,
    as `postern dkim keygen` run as root makes them); returns {record name: TXT text} read
    back from `postern dns --json`, the records an admin would publish."""
    for selector, key_type in KEYS:
        # --force: the signer's folder has no accounts file (the domain is Postfix A's).
        signer.postern("dkim", "keygen", SENDER_DOMAIN, "--selector", selector, "--type",
                       key_type, "--force")
    listing = json.loads(signer.postern("dns", SENDER_DOMAIN, "--json").stdout)
    records = {record["name"].rstrip(".").lower(): record["value"]
               for record in listing["records"]
               if record["type"] == "TXT" and "._domainkey." in record["name"]}
    assert len(records) == len(KEYS), listing
    return records


def interop_message(subject, marker, extra_headers=(), body_lines=30):
    """A CRLF message whose header bytes a milter could easily get wrong: no space after the
    colon (In-Reply-To), several spaces (Subject), a tab and a folded line (Content-Type)."""
    headers = [f"From: Demo Sender <{DEMO}>",
               f"To: Bob <{BOB}>",
               f"Subject:   {subject} {marker}",
               f"Message-ID: <{marker}@client.test>",
               "Date: Mon, 07 Dec 2026 20:00:00 +0000",
               f"In-Reply-To:<parent-{marker}@client.test>",
               "MIME-Version: 1.0",
               "Content-Type:\ttext/plain;\r\n\tcharset=us-ascii", *extra_headers]
    body = [f"Line {n} of {marker}: signed behind a real Postfix." for n in range(body_lines)]
    body += [".a line that starts with a dot", "   trailing spaces   ", "", ""]
    return ("\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(body) + "\r\n").encode()


def send(port, sender, recipient, message, helo="client.test"):
    """(code, text) of the DATA reply; MAIL and RCPT must be accepted."""
    client = smtplib.SMTP("127.0.0.1", port, local_hostname=helo, timeout=60)
    try:
        client.ehlo()
        code, reply = client.mail(sender)
        assert code == 250, ("MAIL", code, reply)
        code, reply = client.rcpt(recipient)
        assert code == 250, ("RCPT", code, reply)
        return client.data(message)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def delivered(receiver, marker):
    """The message of B's Maildir whose Message-ID carries marker, as CRLF bytes; waits."""
    new = os.path.join(receiver.maildir("bob"), "new")
    needle = f"<{marker}@client.test>".encode()

    def find():
        try:
            names = os.listdir(new)
        except FileNotFoundError:
            return None
        for name in names:
            with open(os.path.join(new, name), "rb") as f:
                data = f.read()
            if needle in data:
                return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        return None
    return wait_until(find, DELIVERY_TIMEOUT, 0.1, f"delivery of {marker} at B")


def queue_id(postfix, marker):
    """The queue ID Postfix's cleanup gave the message whose Message-ID carries marker."""
    found = re.search(r"cleanup\[\d+\]: ([0-9A-F]+): message-id=<" + re.escape(marker) + "@",
                      postfix.log())
    assert found, postfix.log()[-3000:]
    return found.group(1)


def fields_named(raw, name):
    head, _ = split_header(raw)
    prefix = name.lower().encode() + b":"
    return [field for field in header_fields(head) if field.lower().startswith(prefix)]


def unfolded(field):
    return " ".join(field.decode(errors="replace").split())


def signature_tags(field):
    value = field.split(b":", 1)[1].decode()
    return {k.strip(): "".join(v.split()) for k, v in
            (part.split("=", 1) for part in value.split(";") if "=" in part)}


def verified_signatures(message, records):
    """[(d, s, a, verified)] for every DKIM-Signature of message, each verified on its own by
    python3-dkim, keys only from records (no DNS asked)."""
    dkim = import_dkim()

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return records.get(name.rstrip(".").lower(), "").encode()

    found = []
    for index, field in enumerate(fields_named(message, "DKIM-Signature")):
        tags = signature_tags(field)
        try:
            verdict = dkim.DKIM(message).verify(idx=index, dnsfunc=dnsfunc)
        except dkim.DKIMException:  # e.g. ValidationError: body hash mismatch
            verdict = False
        found.append((tags.get("d"), tags.get("s"), tags.get("a"), bool(verdict)))
    return found


def main():
    reason = skip_reason()
    if reason:
        skip_test(reason)
    directory = temp_dir("postern-test-authmilter-postfix-")
    try:
        run(directory)
    finally:
        if os.environ.get("POSTERN_KEEP_TEST_DIR") == "1":
            sys.stderr.write(f"kept {directory}\n")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    print("ok")


def run(directory):
    signer = Authmilter(directory, "signer", "")
    records = make_keys(signer)
    zone = [txt_option(SENDER_DOMAIN, "v=spf1 ip4:127.0.0.1 -all"),
            txt_option(f"_dmarc.{SENDER_DOMAIN}", "v=DMARC1; p=reject"),
            *(txt_option(name, text) for name, text in records.items())]
    with Dnsmasq(directory, extra_args=zone) as dns:
        # mynetworks is left empty (its default) in both: 127.0.0.1 is not "ours", so only
        # {daemon_name} = ORIGINATING makes the signer sign.
        signer_cf = (f"smtp_dns_resolver_address = {dns.address}\n"
                     f"authmilter_authserv_id = {SIGNER_AUTHSERV_ID}\n"
                     "dkim_canonicalization = simple/simple\n")
        checker_cf = (f"smtp_dns_resolver_address = {dns.address}\n"
                      f"authmilter_authserv_id = {RECEIVER_AUTHSERV_ID}\n")
        checker = Authmilter(directory, "checker", checker_cf)
        signer.write_main_cf(signer_cf)
        try:
            signer.start()
            checker.start()
            with PostfixInstance("receiver", domain=RECEIVER_DOMAIN, users=["bob"],
                                 main_cf_extra=f"smtpd_milters = {checker.spec}\n") as receiver:
                originating_port = free_port()
                with PostfixInstance(
                        "relay", relay_port=receiver.smtp_port,
                        main_cf_extra=f"smtpd_milters = {signer.spec}\n",
                        master_cf_extra=(f"127.0.0.1:{originating_port} inet n - n - - smtpd"
                                         " -o milter_macro_daemon_name=ORIGINATING\n")) as relay:
                    scenarios(signer, checker, checker_cf, records, relay, originating_port,
                              receiver)
        except BaseException:
            for milter in (signer, checker):
                sys.stderr.write(f"--- {milter.name} log ---\n{milter.log()[-5000:]}\n")
            sys.stderr.write(f"--- dnsmasq log ---\n{dns.log()[-3000:]}\n")
            raise
        finally:
            signer.stop()
            checker.stop()


def scenarios(signer, checker, checker_cf, records, relay, originating_port, receiver):
    # ---- 1. signed behind Postfix A (ORIGINATING port), 3. the header bytes match ----------
    marker = f"signed{time.time_ns():x}"
    code, reply = send(originating_port, DEMO, BOB, interop_message("signed at A", marker))
    assert code == 250, (code, reply)
    message = delivered(receiver, marker)
    signatures = fields_named(message, "DKIM-Signature")
    assert len(signatures) == len(KEYS), message.decode(errors="replace")
    for field in signatures:
        # The value authmilter gave starts with its space (leading-space option): one space.
        assert field.startswith(b"DKIM-Signature: v=1;"), field
        tags = signature_tags(field)
        assert tags.get("d") == SENDER_DOMAIN and tags.get("c") == "simple/simple", tags
        assert {"from", "subject", "in-reply-to", "content-type"} <= set(
            tags.get("h", "").lower().split(":")), tags
    verdicts = verified_signatures(message, records)
    assert sorted((d, s, a) for d, s, a, _ in verdicts) == [
        (SENDER_DOMAIN, "e2026", "ed25519-sha256"),
        (SENDER_DOMAIN, "r2026", "rsa-sha256")], verdicts
    assert all(ok for *_, ok in verdicts), f"python3-dkim: {verdicts}"
    # Logged with the queue ID Postfix names only at the end of the message ({i}).
    assert f"{queue_id(relay, marker)}: dkim signed d={SENDER_DOMAIN} signatures=2" in \
        signer.log(), signer.log()

    # The verifiers can say no: a body byte, or one more space in a signed header field.
    tampered = message.replace(f"Line 7 of {marker}".encode(), f"Line 8 of {marker}".encode())
    assert tampered != message
    assert not any(ok for *_, ok in verified_signatures(tampered, records)), "body tampered"
    respaced = message.replace(b"\r\nSubject:   ", b"\r\nSubject:    ", 1)
    assert respaced != message
    assert not any(ok for *_, ok in verified_signatures(respaced, records)), "header respaced"

    # A body over 256 KB reaches the milter in several BODY packets (Postfix sends at most 65535
    # bytes in each): both body hashes only match if every byte arrived once, in order.
    long_marker = f"long{time.time_ns():x}"
    code, reply = send(originating_port, DEMO, BOB,
                       interop_message("long body", long_marker, body_lines=4000))
    assert code == 250, (code, reply)
    long_message = delivered(receiver, long_marker)
    assert len(long_message) > 4 * 65535, len(long_message)
    verdicts = verified_signatures(long_message, records)
    assert len(verdicts) == len(KEYS) and all(ok for *_, ok in verdicts), verdicts
    long_results = [unfolded(f) for f in fields_named(long_message, "Authentication-Results")]
    assert len(long_results) == 1 and long_results[0].count("dkim=pass") == 2, long_results

    # ---- 2a. checked at Postfix B --------------------------------------------------------
    results = [unfolded(f) for f in fields_named(message, "Authentication-Results")]
    assert len(results) == 1, results  # B's only: the signer added none to mail of ours
    text = results[0]
    assert text.startswith(f"Authentication-Results: {RECEIVER_AUTHSERV_ID};"), text
    assert f"spf=pass smtp.mailfrom={DEMO}" in text, text
    assert text.count("dkim=pass") == 2, text
    assert "header.a=rsa-sha256" in text and "header.a=ed25519-sha256" in text, text
    assert "dmarc=pass" in text and f"header.from={SENDER_DOMAIN}" in text, text
    assert f"{queue_id(receiver, marker)}: spf=pass dkim=pass,pass arc=none dmarc=pass" in checker.log(), \
        checker.log()

    # ---- 1b. A's plain port: the same sender is checked there, never signed --------------
    plain = f"plain{time.time_ns():x}"
    code, reply = send(relay.smtp_port, DEMO, BOB, interop_message("plain port of A", plain))
    assert code == 250, (code, reply)
    message = delivered(receiver, plain)
    assert not fields_named(message, "DKIM-Signature"), message.decode(errors="replace")
    results = [unfolded(f) for f in fields_named(message, "Authentication-Results")]
    ids = sorted(r.split(":", 1)[1].split(";")[0].strip() for r in results)
    assert ids == sorted([SIGNER_AUTHSERV_ID, RECEIVER_AUTHSERV_ID]), results
    ours = [r for r in results if r.startswith(f"Authentication-Results: {RECEIVER_AUTHSERV_ID};")]
    # Unsigned, but the envelope domain passes SPF and is aligned: DMARC passes on SPF alone.
    assert "dkim=none" in ours[0] and "spf=pass" in ours[0] and "dmarc=pass" in ours[0], ours

    # ---- 2b. a forged From: on B's port 25 ----------------------------------------------
    forged_marker = f"forged{time.time_ns():x}"
    # It also brings an Authentication-Results claiming B's authserv-id, second of two: the
    # milter removes that occurrence (smfi_chgheader index 2, as Postfix counts) and no other.
    forged = interop_message("forged at B", forged_marker, extra_headers=[
        "Authentication-Results: elsewhere.test; spf=pass smtp.mailfrom=other.test",
        f"Authentication-Results: {RECEIVER_AUTHSERV_ID}; dkim=pass header.d={SENDER_DOMAIN}"])
    code, reply = send(receiver.smtp_port, "mallory@other.test", BOB, forged,
                       helo="stranger.test")
    assert code == 250, (code, reply)
    message = delivered(receiver, forged_marker)
    results = [unfolded(f) for f in fields_named(message, "Authentication-Results")]
    assert len(results) == 2, results
    assert results[1] == ("Authentication-Results: elsewhere.test; spf=pass "
                          "smtp.mailfrom=other.test"), results
    ours = results[0]  # inserted at the top
    assert ours.startswith(f"Authentication-Results: {RECEIVER_AUTHSERV_ID};"), results
    assert "dmarc=fail" in ours and "dkim=none" in ours and "p=reject" in ours, results
    line = re.search(rf"{queue_id(receiver, forged_marker)}: spf=none dkim=none arc=none dmarc=fail .*",
                     checker.log())
    assert line and line.group(0).endswith(" removed=1"), checker.log()

    checker.restart(checker_cf + "dmarc_enforcement = yes\n")
    refused_marker = f"refused{time.time_ns():x}"
    code, reply = send(receiver.smtp_port, "mallory@other.test", BOB,
                       interop_message("forged at B", refused_marker), helo="stranger.test")
    assert code == 550, (code, reply)
    assert reply == (f"5.7.1 Message rejected: {SENDER_DOMAIN} asks receivers to reject mail "
                     "that fails DMARC").encode(), reply
    assert "milter-reject: END-OF-MESSAGE" in receiver.log(), receiver.log()[-3000:]
    assert "action=reject" in checker.log(), checker.log()

    # Enforcement refuses only failures: signed mail from A still passes and is delivered.
    again = f"again{time.time_ns():x}"
    code, reply = send(originating_port, DEMO, BOB, interop_message("signed again", again))
    assert code == 250, (code, reply)
    message = delivered(receiver, again)
    results = [unfolded(f) for f in fields_named(message, "Authentication-Results")]
    assert len(results) == 1 and "dmarc=pass" in results[0], results
    assert all(ok for *_, ok in verified_signatures(message, records)), "second signed message"


if __name__ == "__main__":
    main()
