"""APPEND over the wire (RFC 3501 6.3.11, RFC 4315 APPENDUID, RFC 7888 LITERAL+): flags and
internal date kept (checked with FETCH and on disk), the APPENDUID answer names the stored
message, [TRYCREATE] for a missing folder, a selected folder hears EXISTS, bad dates/flags
refused, a NUL byte and an empty message refused; a keyword new to the selected folder
announced by FLAGS and PERMANENTFLAGS before the EXISTS and FETCH that bring it. BINARY (RFC 3516): a literal8 whose part says
Content-Transfer-Encoding: binary is stored in base64 and comes back byte for byte from BINARY[];
NUL elsewhere in a literal8 gets NO [UNKNOWN-CTE]. imaplib and raw TLS sockets on loopback;
checked against a throwaway Dovecot."""
import base64
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import (REFERENCE, KeywordWatch, imap_suite, maildir_files, maildir_flags,  # noqa: E402
                          raw_imaps)

DOVECOT = REFERENCE == "dovecot"
MESSAGE = (b"From: alice@example.test\r\nTo: demo@example.test\r\nSubject: appended\r\n\r\n"
           b"body line\r\n")


def append(conn, mailbox, extra, data):
    """APPEND with a LITERAL+ literal; returns (untagged lines, tagged)."""
    tag = conn.next_tag()
    conn.send(tag + b" APPEND " + mailbox + extra + b" {%d+}\r\n" % len(data) + data + b"\r\n")
    untagged, tagged = conn.read_until_tagged(tag)
    return [t for t, _ in untagged], tagged


def test_append_flags_date_and_appenduid():
    with imap_suite() as suite, raw_imaps(suite) as conn:
        _, tagged = append(conn, b"INBOX", b' (\\Seen $Forwarded) "05-Mar-2024 10:20:30 +0100"',
                           MESSAGE)
        match = re.search(rb"\[APPENDUID (\d+) (\d+)\]", tagged)
        assert tagged.split()[1] == b"OK" and match, tagged
        uid = int(match.group(2))
        untagged, tagged = conn.command(b"SELECT INBOX")
        assert tagged.split()[1] == b"OK"
        assert b"[UIDVALIDITY %s]" % match.group(1) in b" ".join(t for t, _ in untagged)
        untagged, tagged = conn.command(b"UID FETCH %d (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"
                                        % uid)
        assert tagged.split()[1] == b"OK", tagged
        text, literals = untagged[0]
        assert b"\\Seen" in text and b"$Forwarded" in text, text
        # The same instant; Dovecot's Maildir keeps it in UTC, we keep the zone as well.
        assert (re.search(rb'INTERNALDATE "[ 0]5-Mar-2024 10:20:30 \+0100"', text) or
                (DOVECOT and b'INTERNALDATE "05-Mar-2024 09:20:30 +0000"' in text)), text
        assert b"RFC822.SIZE %d" % len(MESSAGE) in text and literals == [MESSAGE], untagged
        files = maildir_files(suite, "demo")
        assert len(files) == 1 and "S" in maildir_flags(files[0]), files

        # A day as " 5" (space and digit) is RFC 3501's date-day-fixed.
        # The selected folder hears of its new message (with the APPEND or at the next NOOP).
        heard, tagged = append(conn, b"INBOX", b' " 5-Mar-2024 10:20:30 -0000"', MESSAGE)
        assert tagged.split()[1] == b"OK", tagged
        untagged, _ = conn.command(b"NOOP")
        heard += [t for t, _ in untagged]
        assert b"* 2 EXISTS" in heard, heard


def test_append_refusals():
    with imap_suite() as suite, raw_imaps(suite) as conn:
        _, tagged = append(conn, b"Nowhere", b"", MESSAGE)
        assert tagged.split()[1] == b"NO" and b"[TRYCREATE]" in tagged, tagged
        bad_extras = [b' "5-Mar-24 10:00:00 +0000"', b" (\\Bogus)", b" (\\Recent)"]
        if not DOVECOT:  # Dovecot lets these roll over into the next day/month
            bad_extras += [b' "31-Feb-2024 10:00:00 +0000"', b' "05-Mar-2024 25:00:00 +0000"']
        for extra in bad_extras:
            _, tagged = append(conn, b"INBOX", extra, MESSAGE)
            assert tagged.split()[1] in (b"BAD", b"NO"), (extra, tagged)
        if not DOVECOT:  # Dovecot hangs up on an empty literal
            _, tagged = append(conn, b"INBOX", b"", b"")
            assert tagged.split()[1] in (b"NO", b"BAD"), tagged
        assert maildir_files(suite, "demo") == []
        with raw_imaps(suite) as fresh:  # Dovecot hangs up after several BADs in a row
            untagged, tagged = fresh.command(b"STATUS INBOX (MESSAGES)")
            assert b"MESSAGES 0" in untagged[0][0], untagged


def test_append_new_keyword_announced():
    with imap_suite() as suite, raw_imaps(suite) as conn:
        _, tagged = append(conn, b"INBOX", b" ($Junk)", MESSAGE)
        assert tagged.split()[1] == b"OK", tagged
        watch = KeywordWatch()  # imaptest: "Keyword used without being in FLAGS"
        untagged, tagged = conn.command(b"SELECT INBOX")
        assert tagged.split()[1] == b"OK", tagged
        watch.see(untagged)
        assert watch.has(b"$Junk") and not watch.has(b"$Label5"), untagged
        # To the selected folder, with a keyword it does not have yet.
        heard, tagged = append(conn, b"INBOX", b" ($Label5 \\Flagged)", MESSAGE)
        assert tagged.split()[1] == b"OK", tagged
        untagged, _ = conn.command(b"NOOP")
        heard += [t for t, _ in untagged]
        untagged, tagged = conn.command(b"FETCH 1:* (FLAGS)")
        assert tagged.split()[1] == b"OK", tagged
        heard += [t for t, _ in untagged]
        watch.see(heard)
        assert watch.has(b"$Label5"), heard
        flags_at = next(i for i, t in enumerate(heard) if t.startswith(b"* FLAGS"))
        assert flags_at < heard.index(b"* 2 EXISTS"), heard
        assert any(b"$Label5" in t for t in heard if b"FETCH" in t), heard


def test_append_to_other_folder_seen_by_status():
    with imap_suite() as suite, raw_imaps(suite) as conn:
        for i in range(3):
            _, tagged = append(conn, b"Drafts", b" (\\Draft)", MESSAGE + b"%d\r\n" % i)
            assert tagged.split()[1] == b"OK", tagged
        untagged, _ = conn.command(b"STATUS Drafts (MESSAGES UNSEEN)")
        assert untagged[0][0] == b"* STATUS Drafts (MESSAGES 3 UNSEEN 3)", untagged
        assert len(maildir_files(suite, "demo", "Drafts")) == 3


# Every byte value, with NUL, bare CR, bare LF and CRLF among them.
BINARY_BYTES = bytes(range(256)) + b"\x00\r\n\r\r\n\n\x00"


def binary_message(boundary=b"=_b"):
    return (b"From: alice@example.test\r\nSubject: binary\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"" + boundary + b"\"\r\n\r\n"
            b"--" + boundary + b"\r\nContent-Type: text/plain\r\n\r\nthe text part\r\n"
            b"--" + boundary + b"\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: Binary\r\n\r\n" + BINARY_BYTES + b"\r\n"
            b"--" + boundary + b"--\r\n")


def append_literal8(conn, mailbox, data):
    tag = conn.next_tag()
    conn.send(tag + b" APPEND " + mailbox + b" ~{%d+}\r\n" % len(data) + data + b"\r\n")
    return conn.read_until_tagged(tag)[1]


def test_append_binary_literal():
    with imap_suite() as suite, raw_imaps(suite) as conn:
        untagged, _ = conn.command(b"CAPABILITY")
        assert b" BINARY" in untagged[0][0], untagged
        tagged = append_literal8(conn, b"INBOX", binary_message())
        assert tagged.split()[1] == b"OK", tagged
        untagged, tagged = conn.command(b"SELECT INBOX")
        assert tagged.split()[1] == b"OK", tagged
        untagged, tagged = conn.command(
            b"FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2] BODY.PEEK[2] BODY.PEEK[1] BODYSTRUCTURE)")
        assert tagged.split()[1] == b"OK", tagged
        text, literals = untagged[0]
        assert b"BINARY.SIZE[2] %d" % len(BINARY_BYTES) in text, text
        # literal8 for the bytes with NUL in them, then the stored base64, then the text part.
        assert b"BINARY[2] ~{%d}" % len(BINARY_BYTES) in text, text
        assert literals[0] == BINARY_BYTES, literals[0][:40]
        assert base64.b64decode(literals[1]) == BINARY_BYTES
        assert max(len(line) for line in literals[1].split(b"\r\n")) == 76
        assert literals[2] == b"the text part", literals[2]
        assert b'("application" "octet-stream" NIL NIL NIL "base64" 360 ' in text, text
        [path] = maildir_files(suite, "demo")
        with open(path, "rb") as f:
            stored = f.read()
        assert b"\x00" not in stored and b"Content-Transfer-Encoding: base64" in stored


def test_append_binary_literal_refusals():
    with imap_suite() as suite, raw_imaps(suite) as conn:
        # NUL in a part that does not say binary: we cannot keep it as text (Dovecot stores it
        # as is, and BODY[] then carries the NUL).
        if not DOVECOT:
            eight_bit = MESSAGE.replace(b"body line", b"nul \x00 here")
            tagged = append_literal8(conn, b"INBOX", eight_bit)
            assert tagged.split()[1] == b"NO" and b"[UNKNOWN-CTE]" in tagged, tagged
            # An ordinary literal may not hold NUL at all, binary part or not (Dovecot: it may).
            _, tagged = append(conn, b"INBOX", b"", binary_message())
            assert tagged.split()[1] in (b"NO", b"BAD"), tagged
        assert maildir_files(suite, "demo") == []
        # A literal8 without NUL is an ordinary message.
        tagged = append_literal8(conn, b"INBOX", MESSAGE)
        assert tagged.split()[1] == b"OK", tagged
        [path] = maildir_files(suite, "demo")
        with open(path, "rb") as f:
            assert f.read().replace(b"\n", b"\r\n") == MESSAGE


if __name__ == "__main__":
    postern_harness.run_tests([test_append_flags_date_and_appenduid,
                               test_append_refusals,
                               test_append_new_keyword_announced,
                               test_append_to_other_folder_seen_by_status,
                               test_append_binary_literal,
                               test_append_binary_literal_refusals])
