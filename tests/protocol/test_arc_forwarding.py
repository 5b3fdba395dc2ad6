#!/usr/bin/env python3
"""ARC sealing of forwarded mail (RFC 8617) end to end, on loopback, with a DNS server of the
test's own (dnsmasq holding the test zones; no DNS from outside):

Suite B (example.test, authserv-id mx.example.test) receives on port 25 with authmilter
checking, and has a virtual alias fwd@example.test forwarding to carol@receiver.test, relayed
to suite C (receiver.test, authserv-id mx.receiver.test, authmilter checking, the same dnsmasq
with B's key record). B's RSA key is made with `postern dkim keygen`.

1. A message from a stranger to fwd@ arrives at C carrying ARC-Seal, ARC-Message-Signature and
   ARC-Authentication-Results with i=1, d=example.test, cv=none (the AAR holds B's results), and
   C's Authentication-Results says arc=pass.
2. A message that arrives at B with a broken chain (a set whose key does not exist) is sealed
   with i=2 cv=fail (RFC 8617 5.1.2: a sealer records the failure), and C says arc=fail.
3. postern-local seals too: an /etc/aliases entry of B's (list@mx.example.test, mydestination)
   forwarding to carol is sealed by local with the key of example.test (the nearest parent of
   mx.example.test with a key), the seal above local's Delivered-To: line.
4. B logs one line per sealed copy (arc-seal=i=1 cv=none ...).
"""
import os
import re
import shutil
import smtplib
import subprocess
import sys

from postern_harness import BIN_DIR, Suite, TEST_DOMAIN, TEST_PASSWORD, default_accounts
from postern_harness import password_hash, wait_until
from relay_peers import Dnsmasq, header_fields, make_message, split_header, temp_dir

RECEIVER_DOMAIN = "receiver.test"
POSTERN = os.path.join(BIN_DIR, "postern")
CAROL = f"carol@{RECEIVER_DOMAIN}"
FORWARDER = f"fwd@{TEST_DOMAIN}"


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def receiver_accounts():
    hashed = password_hash(TEST_PASSWORD)
    return (f"postmaster: carol@{RECEIVER_DOMAIN}\ndomains:\n  {RECEIVER_DOMAIN}:\n    users:\n"
            f"      carol:\n        password: \"{hashed}\"\n")


def txt_option(name, text):
    """A dnsmasq --txt-record option, the text cut into 255-byte character-strings."""
    parts = [text[i:i + 255] for i in range(0, len(text), 255)]
    return f"--txt-record={name}," + ",".join(parts)


def make_rsa_key(suite):
    """An RSA key for TEST_DOMAIN made as an admin would; its TXT record as a dnsmasq option,
    read back from `postern dns --json`."""
    import json
    subprocess.run([POSTERN, "-c", suite.etc, "dkim", "keygen", TEST_DOMAIN, "--selector",
                    "arc2026", "--type", "rsa"], check=True, capture_output=True, text=True)
    listing = json.loads(subprocess.run([POSTERN, "-c", suite.etc, "dns", TEST_DOMAIN, "--json"],
                                        check=True, capture_output=True, text=True).stdout)
    options = [txt_option(r["name"].rstrip("."), r["value"]) for r in listing["records"]
               if r["type"] == "TXT" and "._domainkey." in r["name"]]
    assert len(options) == 1, listing
    return options


def fields_named(raw, name):
    head, _ = split_header(raw)
    prefix = name.lower().encode() + b":"
    return [" ".join(f.decode(errors="replace").split()) for f in header_fields(head)
            if f.lower().startswith(prefix)]


def message_with(suite, address, marker, timeout=20.0):
    """The message holding marker in address's Maildir (bounded wait)."""
    found = []

    def arrived():
        for path in suite.messages(address):
            with open(path, "rb") as f:
                data = f.read()
            if marker.encode() in data:
                found.append(data)
                return True
        return False
    wait_until(arrived, timeout, interval=0.1, what=f"{marker} at {address}")
    return found[0]


def send_as_stranger(suite, rcpt, message):
    client = smtplib.SMTP("127.0.0.1", suite.smtp_port, local_hostname="stranger.test",
                          timeout=30)
    try:
        client.ehlo()
        code, reply = client.mail("alice@sender.test")
        assert code == 250, ("MAIL", code, reply)
        code, reply = client.rcpt(rcpt)
        assert code == 250, ("RCPT", code, reply)
        code, reply = client.data(message)
        assert code == 250, ("DATA", code, reply)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def tag(field, name):
    match = re.search(rf"(?:^|[;:\s]){name}=([^;\s]+)", field)
    return match.group(1) if match else None


def main():
    if not Suite.has_program("authmilter"):
        skip("postern-authmilter is not built (libmilter-dev missing)")
    if shutil.which("dnsmasq") is None:
        skip("dnsmasq is not installed")
    directory = temp_dir("postern-test-arc-forwarding-")
    try:
        run(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print("ok")


def run(directory):
    forwarder = Suite(start=False, accounts=default_accounts(
        extra_yaml=f"      fwd: {CAROL}\n"))
    forwarder.write_aliases(f"list: {CAROL}\n")
    receiver = Suite(start=False, accounts=receiver_accounts())
    zone = [txt_option("sender.test", "v=spf1 ip4:127.0.0.1 -all"), *make_rsa_key(forwarder)]
    with Dnsmasq(directory, extra_args=zone) as dns:
        forwarder.write_main_cf(f"smtpd_milters = unix:private/authmilter\n"
                                f"relayhost = [127.0.0.1]:{receiver.smtp_port}\n"
                                f"smtp_dns_resolver_address = {dns.address}\n")
        receiver.write_main_cf(f"myhostname = mx.{RECEIVER_DOMAIN}\n"
                               f"smtpd_milters = unix:private/authmilter\n"
                               f"smtp_dns_resolver_address = {dns.address}\n")
        with forwarder, receiver:
            forwarder.start()
            receiver.start()

            # 1. no chain at B: sealed i=1 cv=none, and C finds the chain passes
            message, marker = make_message("alice@sender.test", [FORWARDER], "forwarded")
            send_as_stranger(forwarder, FORWARDER, message)
            raw = message_with(receiver, CAROL, marker)
            seals = fields_named(raw, "ARC-Seal")
            signatures = fields_named(raw, "ARC-Message-Signature")
            aars = fields_named(raw, "ARC-Authentication-Results")
            assert len(seals) == 1 and len(signatures) == 1 and len(aars) == 1, raw[:3000]
            assert tag(seals[0], "i") == "1" and tag(seals[0], "cv") == "none", seals
            assert tag(seals[0], "d") == TEST_DOMAIN and tag(seals[0], "s") == "arc2026", seals
            assert tag(seals[0], "a") == "rsa-sha256", seals
            assert tag(signatures[0], "i") == "1" and tag(signatures[0], "d") == TEST_DOMAIN
            assert aars[0].startswith("ARC-Authentication-Results: i=1; mx.example.test;"), aars
            assert "arc=none" in aars[0] and "spf=pass" in aars[0], aars
            results = [r for r in fields_named(raw, "Authentication-Results")
                       if r.startswith(f"Authentication-Results: mx.{RECEIVER_DOMAIN};")]
            assert len(results) == 1, fields_named(raw, "Authentication-Results")
            assert "arc=pass" in results[0], results
            # The seal is the copy's top: ARC-Seal first (RFC 8617 sets are prepended at B;
            # C's own trace fields may come above it).
            head, _ = split_header(raw)
            names = [f.split(b":", 1)[0].lower() for f in header_fields(head)]
            first_arc = names.index(b"arc-seal")
            assert names[first_arc:first_arc + 3] == [b"arc-seal", b"arc-message-signature",
                                                      b"arc-authentication-results"], names

            # 2. a broken chain at B (no key for bogus.test): sealed i=2 cv=fail
            broken = ["ARC-Seal: i=1; a=rsa-sha256; cv=none; d=bogus.test; s=x; b=AAAA",
                      "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; "
                      "d=bogus.test; s=x; h=from; bh=AAAA; b=AAAA",
                      "ARC-Authentication-Results: i=1; mx.bogus.test; spf=pass"]
            message, marker = make_message("alice@sender.test", [FORWARDER], "broken chain",
                                           extra_headers=broken)
            send_as_stranger(forwarder, FORWARDER, message)
            raw = message_with(receiver, CAROL, marker)
            seals = fields_named(raw, "ARC-Seal")
            ours = [s for s in seals if tag(s, "d") == TEST_DOMAIN]
            assert len(seals) == 2 and len(ours) == 1, seals
            assert tag(ours[0], "i") == "2" and tag(ours[0], "cv") == "fail", ours
            results = [r for r in fields_named(raw, "Authentication-Results")
                       if r.startswith(f"Authentication-Results: mx.{RECEIVER_DOMAIN};")]
            assert len(results) == 1 and "arc=fail" in results[0], results

            # 3. an /etc/aliases forward of postern-local, sealed above its Delivered-To
            if Suite.has_program("local"):
                local_rcpt = "list@mx.example.test"
                message, marker = make_message("alice@sender.test", [local_rcpt], "via local")
                send_as_stranger(forwarder, local_rcpt, message)
                raw = message_with(receiver, CAROL, marker)
                seals = fields_named(raw, "ARC-Seal")
                assert len(seals) == 1, raw[:3000]
                assert tag(seals[0], "i") == "1" and tag(seals[0], "cv") == "none", seals
                assert tag(seals[0], "d") == TEST_DOMAIN, seals
                head, _ = split_header(raw)
                names = [f.split(b":", 1)[0].lower() for f in header_fields(head)]
                first_arc = names.index(b"arc-seal")
                assert names[first_arc:first_arc + 4] == [
                    b"arc-seal", b"arc-message-signature", b"arc-authentication-results",
                    b"delivered-to"], names
                results = [r for r in fields_named(raw, "Authentication-Results")
                           if r.startswith(f"Authentication-Results: mx.{RECEIVER_DOMAIN};")]
                assert len(results) == 1 and "arc=pass" in results[0], results

            # 4. one log line per sealed copy at B
            log = forwarder.log()
            sealed_none = re.findall(rf"arc-seal=i=1 cv=none d={TEST_DOMAIN} s=arc2026", log)
            # qmgr's copy of message 1, and local's of message 3
            assert len(sealed_none) == (2 if Suite.has_program("local") else 1), log[-3000:]
            assert re.search(rf"arc-seal=i=2 cv=fail d={TEST_DOMAIN} s=arc2026", log), log[-3000:]


if __name__ == "__main__":
    main()
