#!/usr/bin/env python3
"""postern-authmilter end to end, on loopback, with a DNS server of the test's own (dnsmasq
holding the test zones; no DNS from outside):

1. A message submitted to suite A (587, authenticated) is DKIM-signed by A's authmilter with
   an RSA and an Ed25519 key made by `postern dkim keygen`, relayed to suite B's port 25, and
   arrives with spf=pass, dkim=pass for both signatures and dmarc=pass in B's one
   Authentication-Results header.
2. The same From: domain forged by a stranger on B's port 25 gets dmarc=fail and is delivered
   while dmarc_enforcement = no; after `dmarc_enforcement = yes` and a reload, the same message
   is refused at the end of DATA with 550 5.7.1, and so is a From: naming two domains.
3. An Authentication-Results claiming B's authserv-id that arrives with a message is removed;
   one with another id stays.
4. A stranger on A's own port 25 (127.0.0.1, as behind a tunnel) with A's From: domain is
   checked, never signed.
"""
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys

from postern_harness import BIN_DIR, Suite, TEST_DOMAIN, TEST_PASSWORD, password_hash, wait_until
from relay_peers import Dnsmasq, header_fields, make_message, split_header, submit, temp_dir

RECEIVER_DOMAIN = "receiver.test"
POSTERN = os.path.join(BIN_DIR, "postern")


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def receiver_accounts():
    hashed = password_hash(TEST_PASSWORD)
    return (f"postmaster: bob@{RECEIVER_DOMAIN}\ndomains:\n  {RECEIVER_DOMAIN}:\n    users:\n"
            f"      bob:\n        password: \"{hashed}\"\n")


def txt_option(name, text):
    """A dnsmasq --txt-record option, the text cut into 255-byte character-strings (no
    quotes: on the command line dnsmasq keeps them; the texts here have no commas)."""
    parts = [text[i:i + 255] for i in range(0, len(text), 255)]
    return f"--txt-record={name}," + ",".join(parts)


def make_keys(suite):
    """An RSA and an Ed25519 key for TEST_DOMAIN; returns their TXT records as dnsmasq options,
    read back from `postern dns --json` (the records an admin would publish)."""
    for selector, key_type in (("r2026", "rsa"), ("e2026", "ed25519")):
        subprocess.run([POSTERN, "-c", suite.etc, "dkim", "keygen", TEST_DOMAIN,
                        "--selector", selector, "--type", key_type],
                       check=True, capture_output=True, text=True)
    listing = json.loads(subprocess.run([POSTERN, "-c", suite.etc, "dns", TEST_DOMAIN, "--json"],
                                        check=True, capture_output=True, text=True).stdout)
    options = []
    for record in listing["records"]:
        if record["type"] == "TXT" and "._domainkey." in record["name"]:
            options.append(txt_option(record["name"].rstrip("."), record["value"]))
    assert len(options) == 2, listing
    return options


def flatten_keys(listing):
    """The keys of `postern dkim list --json`, whatever nesting it uses (a list of keys, or
    domains holding keys)."""
    if isinstance(listing, dict):
        if "selector" in listing:
            return [listing]
        return [k for value in listing.values() for k in flatten_keys(value)]
    if isinstance(listing, list):
        return [k for item in listing for k in flatten_keys(item)]
    return []


def submit_after_reload(suite, sender, recipients, message):
    """submit(), tried again while a worker retiring after the reload closes the session."""
    def submitted():
        try:
            submit(suite, sender, recipients, message, via="submission")
            return True
        except (smtplib.SMTPException, OSError):
            return False
    wait_until(submitted, 30, interval=0.5, what="a submission after the reload")


def auth_results(raw):
    head, _ = split_header(raw)
    return [field.decode(errors="replace") for field in header_fields(head)
            if field.lower().startswith(b"authentication-results:")]


def fields_named(raw, name):
    head, _ = split_header(raw)
    prefix = name.lower().encode() + b":"
    return [field for field in header_fields(head) if field.lower().startswith(prefix)]


def newest_message(suite, address, count):
    suite.wait_for_mail(address, count)
    messages = suite.messages(address)
    assert len(messages) == count, (len(messages), suite.log())
    with open(sorted(messages, key=os.path.getmtime)[-1], "rb") as f:
        return f.read()


def send_as_stranger(suite, sender, rcpt, message):
    client = smtplib.SMTP("127.0.0.1", suite.smtp_port, local_hostname="stranger.test",
                          timeout=30)
    try:
        client.ehlo()
        code, reply = client.mail(sender)
        assert code == 250, ("MAIL", code, reply)
        code, reply = client.rcpt(rcpt)
        assert code == 250, (code, reply)
        return client.data(message)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def main():
    if not Suite.has_program("authmilter"):
        skip("postern-authmilter is not built (libmilter-dev missing)")
    directory = temp_dir("postern-test-authmilter-")
    try:
        run(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print("ok")


def run(directory):
    if True:
        sender_suite = Suite(start=False)
        receiver = Suite(start=False, accounts=receiver_accounts())
        key_options = make_keys(sender_suite)
        zone = [txt_option(TEST_DOMAIN, "v=spf1 ip4:127.0.0.1 -all"),
                txt_option(f"_dmarc.{TEST_DOMAIN}", "v=DMARC1; p=reject"),
                *key_options]
        with Dnsmasq(directory, extra_args=zone) as dns:
            sender_suite.write_main_cf(
                f"submission_milters = unix:private/authmilter\n"
                f"smtpd_milters = unix:private/authmilter\n"
                f"relayhost = [127.0.0.1]:{receiver.smtp_port}\n"
                f"smtp_dns_resolver_address = {dns.address}\n")
            receiver_cf = (f"smtpd_milters = unix:private/authmilter\n"
                           f"smtp_dns_resolver_address = {dns.address}\n")
            receiver.write_main_cf(receiver_cf)
            with sender_suite, receiver:
                sender_suite.start()
                receiver.start()
                bob = f"bob@{RECEIVER_DOMAIN}"
                demo = f"demo@{TEST_DOMAIN}"

                # 1. signed at A, checked at B
                message, _ = make_message(demo, [bob], "signed and checked")
                submit(sender_suite, demo, [bob], message, via="submission")
                raw = newest_message(receiver, bob, 1)
                signatures = fields_named(raw, "DKIM-Signature")
                assert len(signatures) == 2, raw.decode(errors="replace")
                results = auth_results(raw)
                assert len(results) == 1, results
                text = " ".join(results[0].split())
                assert text.startswith("Authentication-Results: mx.example.test;"), text
                assert f"spf=pass smtp.mailfrom={demo}" in text, text
                assert text.count("dkim=pass") == 2, text
                assert "header.a=rsa-sha256" in text and "header.a=ed25519-sha256" in text, text
                assert f"dmarc=pass" in text and f"header.from={TEST_DOMAIN}" in text, text

                # 1b. rotate the Ed25519 key while the suite runs: postern reloads it, and
                # the next message is signed with the new selector (B has no record for it yet)
                before = sender_suite.worker_pids("authmilter")
                rotated = subprocess.run([POSTERN, "-c", sender_suite.etc, "dkim", "rotate",
                                          TEST_DOMAIN, "--type", "ed25519"],
                                         check=True, capture_output=True, text=True).stdout
                assert "reloaded" in rotated, rotated
                sender_suite.wait_for_authmilter(before)
                listing = json.loads(subprocess.run(
                    [POSTERN, "-c", sender_suite.etc, "dkim", "list", "--json"],
                    check=True, capture_output=True, text=True).stdout)
                new_selectors = [k["selector"] for k in
                                 flatten_keys(listing)
                                 if k["state"] == "signing" and k["selector"] != "r2026"]
                assert len(new_selectors) == 1 and new_selectors[0] != "e2026", listing
                message, _ = make_message(demo, [bob], "signed with the rotated key")
                submit_after_reload(sender_suite, demo, [bob], message)
                raw = newest_message(receiver, bob, 2)
                selectors = sorted(re.search(rb"\bs=([a-z0-9-]+)", field).group(1).decode()
                                   for field in fields_named(raw, "DKIM-Signature"))
                assert selectors == sorted(["r2026", new_selectors[0]]), selectors

                # 2. a forged From: at B's port 25, then with enforcement on
                forged, _ = make_message(demo, [bob], "forged", extra_headers=[
                    f"Authentication-Results: mx.example.test; dkim=pass header.d={TEST_DOMAIN}",
                    "Authentication-Results: elsewhere.test; spf=pass"])
                code, reply = send_as_stranger(receiver, "mallory@other.test", bob, forged)
                assert code == 250, (code, reply)
                raw = newest_message(receiver, bob, 3)
                results = auth_results(raw)
                ours = [r for r in results if "mx.example.test" in r]
                assert len(ours) == 1, results          # 3. the forged one is gone
                assert any("elsewhere.test" in r for r in results), results
                text = " ".join(ours[0].split())
                assert "dmarc=fail" in text and "p=reject" in text, text
                assert "dkim=none" in text, text
                assert not fields_named(raw, "DKIM-Signature"), raw

                receiver.write_main_cf(receiver_cf + "dmarc_enforcement = yes\n")
                receiver.reload()
                refused = None

                def refused_now():
                    # While the reload replaces authmilter a session may get 451 (the milter
                    # is between two processes), or a retiring smtpd may close it: try again
                    # until the new ones answer.
                    nonlocal refused
                    try:
                        refused = send_as_stranger(receiver, "mallory@other.test", bob, forged)
                    except (AssertionError, smtplib.SMTPException, OSError):
                        return False
                    return refused[0] == 550
                wait_until(refused_now, 30, interval=0.5, what="DMARC enforcement after reload")
                assert refused[1].startswith(b"5.7.1"), refused
                # A From: naming two domains has no author domain: refused too (RFC 7489 6.6.1)
                two_domains, _ = make_message(demo, [bob], "two authors", extra_headers=[])
                two_domains = two_domains.replace(
                    f"From: <{demo}>".encode(), f"From: <{demo}>, <x@other.test>".encode(), 1)
                code, reply = send_as_stranger(receiver, "mallory@other.test", bob, two_domains)
                assert code == 550 and b"exactly one author domain" in reply, (code, reply)

                # 4. a stranger on A's port 25 with A's domain: checked, not signed
                code, reply = send_as_stranger(sender_suite, "mallory@other.test",
                                               f"alice@{TEST_DOMAIN}", forged)
                assert code == 250, (code, reply)
                raw = newest_message(sender_suite, f"alice@{TEST_DOMAIN}", 1)
                assert not fields_named(raw, "DKIM-Signature"), raw
                assert any("dmarc=fail" in r for r in auth_results(raw)), auth_results(raw)


if __name__ == "__main__":
    main()
