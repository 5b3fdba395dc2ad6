"""Keywords shared with Dovecot through the Maildir: a throwaway Dovecot 2.3 (Debian's
dovecot-imapd) and postern-imapd serve the same Maildir on different loopback ports. Keywords
Dovecot set are seen by Postern, keywords Postern changes are seen by Dovecot, and they survive
Postern's index being deleted, because both keep them as file-name letters listed in
dovecot-keywords. This is what a user moving from Dovecot to Postern (or back) keeps."""
import imaplib
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import (PASSWORD, DovecotReference, address, check_ok,  # noqa: E402
                          client_context, imaps, imap_suite, maildir_files, which)
from postern_harness import free_port  # noqa: E402

MESSAGES = {
    "one": r"(\Seen $Forwarded Junk)",
    "two": r"($label1)",
    "three": r"()",
}


def flags_by_subject(client):
    """{subject: set of flags} of INBOX, read over an IMAP session (any server)."""
    check_ok(client.select("INBOX"), "SELECT")
    data = check_ok(client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), "FETCH")
    found = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode()
        subject = item[1].decode().split(":", 1)[1].strip()
        found[subject] = set(flags.split()) - {"\\Recent"}
    return found


def dovecot_client(suite, dovecot):
    client = imaplib.IMAP4_SSL("127.0.0.1", dovecot.imaps_port,
                               ssl_context=client_context(suite), timeout=20)
    client.login(address("demo"), PASSWORD)
    return client


def test_keywords_move_between_dovecot_and_postern():
    which("dovecot")
    with imap_suite() as suite:
        dovecot = DovecotReference(suite, ports=(free_port(), free_port()))
        try:
            suite.wait_for_port(dovecot.imaps_port)
            client = dovecot_client(suite, dovecot)
            for subject, flags in MESSAGES.items():
                check_ok(client.append("INBOX", flags, None,
                                       f"Subject: {subject}\r\n\r\nbody\r\n".encode()), "APPEND")
            check_ok(client.select("INBOX"), "SELECT")
            check_ok(client.store("3", "+FLAGS", "(NonJunk)"), "STORE")
            seen_by_dovecot = flags_by_subject(client)
            client.logout()
            assert seen_by_dovecot == {"one": {"\\Seen", "$Forwarded", "Junk"},
                                       "two": {"$label1"}, "three": {"NonJunk"}}, seen_by_dovecot

            # Postern reads Dovecot's letters.
            client = imaps(suite)
            assert flags_by_subject(client) == seen_by_dovecot
            check_ok(client.store("1:*", "-FLAGS", "(Junk NonJunk)"), "STORE")
            check_ok(client.store("2", "+FLAGS", "($Important)"), "STORE")
            expected = {"one": {"\\Seen", "$Forwarded"}, "two": {"$label1", "$Important"},
                        "three": set()}
            assert flags_by_subject(client) == expected
            client.logout()

            # Dovecot reads Postern's letters (a new letter for $Important included).
            with open(os.path.join(suite.maildir(address("demo")), "dovecot-keywords")) as f:
                assert "$Important" in f.read()
            client = dovecot_client(suite, dovecot)
            assert flags_by_subject(client) == expected
            client.logout()

            # Postern's index deleted: rebuilt from the file names, keywords included.
            index = os.path.join(suite.maildir(address("demo")), "postern-index")
            os.unlink(index)
            client = imaps(suite)
            assert flags_by_subject(client) == expected
            client.logout()
            assert len(maildir_files(suite, "demo")) == 3
        finally:
            dovecot.stop()


if __name__ == "__main__":
    postern_harness.run_tests([test_keywords_move_between_dovecot_and_postern])
