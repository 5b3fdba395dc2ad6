"""IMAP FETCH against the running imapd (RFC 3501 6.4.5, RFC 3516 BINARY, RFC 7162 CONDSTORE):
each data item and macro, UID FETCH carrying UID, BODY[] byte-exact with the CRLF form of the
Maildir file, partial fetches, HEADER.FIELDS(.NOT), nested message/rfc822 sections, an absent
part, BINARY/BINARY.SIZE with a NUL byte (literal8), \\Seen set by BODY[] but not by BODY.PEEK[]
(with FLAGS in the response), MODSEQ and CHANGEDSINCE, and Crispin's MIME torture message
(../shared/testdata/mime-torture: BODY[] exact, nested sections are the exact bytes of the
message, BODYSTRUCTURE balanced). Expected values were checked against a throwaway Dovecot 2.3
(POSTERN_IMAP_REFERENCE=dovecot). Raw sockets over TLS on loopback; every read has a timeout."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import RawImap, crlf, fill_maildir, imap_suite  # noqa: E402

TORTURE = postern_harness.shared_testdata("mime-torture", "crispin-torture-test.eml")

PLAIN = (b"From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.test>\nTo: Bob <bob@example.test>\n"
         b"Cc: carol@example.test\nSubject: =?utf-8?b?R3LDvMOfZSBhdXMgS8O2bG4=?=\n"
         b"Date: Tue, 1 Feb 1994 10:00:00 +0100\nMessage-ID: <m1@example.test>\n"
         b"X-Mailer: mutt\n\nHello body line one.\nSecond line: findme.\n")
INNER_HEADER = (b"From: Inner <inner@example.test>\nSubject: inner message\nMIME-Version: 1.0\n"
                b"Content-Type: multipart/alternative; boundary=YY\n\n")
MULTIPART = (b"From: Alice <alice@example.test>\nTo: bob@example.test\nSubject: multipart one\n"
             b"Date: Wed, 2 Feb 1994 10:00:00 +0000\nMIME-Version: 1.0\n"
             b"Content-Type: multipart/mixed; boundary=\"XX\"\n\npreamble\n--XX\n"
             b"Content-Type: text/plain; charset=utf-8\n"
             b"Content-Transfer-Encoding: quoted-printable\n\n"
             b"caf=C3=A9 au lait\n--XX\nContent-Type: application/octet-stream\n"
             b"Content-Transfer-Encoding: base64\n"
             b"Content-Disposition: attachment; filename=\"a.bin\"\n\n"
             b"AAECAwBoZWxsbw==\n--XX\nContent-Type: message/rfc822\n\n" + INNER_HEADER +
             b"--YY\nContent-Type: text/plain\n\ninner plain\n--YY\nContent-Type: text/html\n\n"
             b"<p>inner html</p>\n--YY--\n\n--XX--\n")


def messages(i, to):
    return [PLAIN, MULTIPART][i]


def ok(tagged):
    assert tagged.split()[1] == b"OK", tagged


def fetch_one(conn, command):
    """Runs a FETCH for one message; returns (text of its FETCH line, literals, tagged)."""
    untagged, tagged = conn.command(command)
    fetches = [(t, lits) for t, lits in untagged if re.match(rb"\* \d+ FETCH ", t)]
    assert len(fetches) == 1, untagged
    return fetches[0][0], fetches[0][1], tagged


def selected(suite, make=messages, n=2):
    fill_maildir(suite, "demo", n, make=make)
    conn = RawImap.connect_tls(suite)
    conn.login("demo")
    _, tagged = conn.command(b"SELECT INBOX")
    ok(tagged)
    return conn


def test_simple_items_and_macros():
    with imap_suite() as suite:
        with selected(suite) as conn:
            text, _, tagged = fetch_one(conn, b"FETCH 1 (FLAGS RFC822.SIZE INTERNALDATE UID)")
            ok(tagged)
            assert re.fullmatch(rb'\* 1 FETCH \(FLAGS \(\\Recent\) RFC822.SIZE %d INTERNALDATE '
                                rb'"[ \d]\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}" UID \d+\)'
                                % len(crlf(PLAIN)), text), text
            uid = int(re.search(rb"UID (\d+)", text).group(1))
            text, _, _ = fetch_one(conn, b"UID FETCH %d FLAGS" % uid)
            assert re.fullmatch(rb"\* 1 FETCH \(UID %d FLAGS \(\\Recent\)\)" % uid, text), text
            for macro, items in ((b"FAST", [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"]),
                                 (b"ALL", [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE",
                                           b"ENVELOPE"]),
                                 (b"FULL", [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE",
                                            b"ENVELOPE", b"BODY"])):
                text, _, tagged = fetch_one(conn, b"FETCH 2 " + macro)
                ok(tagged)
                for item in items:
                    assert re.search(rb"[( ]" + re.escape(item) + rb" ", text), (macro, text)
            text, _, _ = fetch_one(conn, b"FETCH 1 ENVELOPE")
            assert text == (b'* 1 FETCH (ENVELOPE ("Tue, 1 Feb 1994 10:00:00 +0100" '
                            b'"=?utf-8?b?R3LDvMOfZSBhdXMgS8O2bG4=?=" (("=?utf-8?q?J=C3=BCrgen?=" '
                            b'NIL "jurgen" "example.test")) (("=?utf-8?q?J=C3=BCrgen?=" NIL '
                            b'"jurgen" "example.test")) (("=?utf-8?q?J=C3=BCrgen?=" NIL "jurgen" '
                            b'"example.test")) (("Bob" NIL "bob" "example.test")) ((NIL NIL '
                            b'"carol" "example.test")) NIL NIL "<m1@example.test>"))'), text
            text, _, _ = fetch_one(conn, b"FETCH 1 BODYSTRUCTURE")
            assert text == (b'* 1 FETCH (BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") '
                            b'NIL NIL "7bit" 44 2 NIL NIL NIL NIL))'), text
            # Errors: a number past the last message, an unknown item, no items.
            for bad in (b"FETCH 3 FLAGS", b"FETCH 1 (FLAGS BOGUS)", b"FETCH 1",
                        b"FETCH 1 BODY[1.]", b"FETCH 0 FLAGS"):
                _, tagged = conn.command(bad)
                assert tagged.split()[1] == b"BAD", (bad, tagged)


def test_body_sections_and_partials():
    with imap_suite() as suite:
        with selected(suite) as conn:
            _, lits, tagged = fetch_one(conn, b"FETCH 1 BODY.PEEK[]")
            ok(tagged)
            assert lits == [crlf(PLAIN)]
            header, body = crlf(PLAIN).split(b"\r\n\r\n", 1)
            text, lits, _ = fetch_one(conn, b"FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[TEXT] "
                                      b"RFC822.HEADER BODY.PEEK[]<5.10> BODY.PEEK[]<9000.5>)")
            assert lits == [header + b"\r\n\r\n", body, header + b"\r\n\r\n",
                            crlf(PLAIN)[5:15], b""], lits
            assert b"BODY[]<5> {10}" in text and b"BODY[]<9000> {0}" in text, text
            text, lits, _ = fetch_one(conn, b'FETCH 1 (BODY.PEEK[HEADER.FIELDS (from "To")])')
            # Dovecot echoes a quoted name quoted, Postern as an atom: both are the same name.
            assert re.match(rb'\* 1 FETCH \(BODY\[HEADER.FIELDS \(FROM "?TO"?\)\] \{', text), text
            assert lits == [b"From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.test>\r\n"
                            b"To: Bob <bob@example.test>\r\n\r\n"], lits
            _, lits, _ = fetch_one(conn, b"FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (X-Mailer Cc "
                                   b"Message-ID Date Subject)]")
            assert lits == [b"From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.test>\r\n"
                            b"To: Bob <bob@example.test>\r\n\r\n"], lits
            # Nested parts of the multipart message.
            text, lits, _ = fetch_one(conn, b"FETCH 2 (BODY.PEEK[1] BODY.PEEK[1.MIME] "
                                      b"BODY.PEEK[3.HEADER] BODY.PEEK[3.1] BODY.PEEK[3.2.MIME] "
                                      b"BODY.PEEK[7] BODY.PEEK[3.1.HEADER])")
            assert lits == [b"caf=C3=A9 au lait",
                            b"Content-Type: text/plain; charset=utf-8\r\n"
                            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                            crlf(INNER_HEADER), b"inner plain",
                            b"Content-Type: text/html\r\n\r\n", b"", b""], (text, lits)
            # BINARY: the base64 part decoded, NUL bytes in a literal8.
            text, lits, _ = fetch_one(conn, b"FETCH 2 (BINARY.PEEK[2] BINARY.SIZE[2] "
                                      b"BINARY.PEEK[1]<0.4>)")
            assert b"BINARY[2] ~{10}" in text and b"BINARY.SIZE[2] 10" in text, text
            assert lits == [b"\x00\x01\x02\x03\x00hello", "café".encode()[:4]], lits


def test_seen_set_by_body_not_by_peek():
    with imap_suite() as suite:
        with selected(suite) as conn:
            text, _, _ = fetch_one(conn, b"FETCH 1 (BODY.PEEK[TEXT] FLAGS)")
            assert b"\\Seen" not in text, text
            text, _, tagged = fetch_one(conn, b"FETCH 1 BODY[TEXT]")
            ok(tagged)
            assert re.search(rb"FLAGS \(\\Seen \\Recent\)", text), text
            text, _, _ = fetch_one(conn, b"FETCH 1 FLAGS")
            assert b"\\Seen" in text, text
            # RFC822 sets \Seen too; RFC822.HEADER does not.
            text, _, _ = fetch_one(conn, b"FETCH 2 RFC822.HEADER")
            assert b"FLAGS" not in text, text
            text, lits, _ = fetch_one(conn, b"FETCH 2 RFC822")
            assert lits == [crlf(MULTIPART)] and b"\\Seen" in text, text
            # EXAMINE: read-only, nothing is marked.
            ok(conn.command(b"STORE 1:2 -FLAGS (\\Seen)")[1])
            ok(conn.command(b"EXAMINE INBOX")[1])
            text, _, _ = fetch_one(conn, b"FETCH 1 (BODY[] FLAGS)")
            assert b"\\Seen" not in text, text


def test_modseq_and_changedsince():
    with imap_suite() as suite:
        with selected(suite) as conn:
            text, _, _ = fetch_one(conn, b"FETCH 1 (MODSEQ)")
            first = int(re.search(rb"MODSEQ \((\d+)\)", text).group(1))
            ok(conn.command(b"STORE 2 +FLAGS.SILENT (\\Flagged)")[1])
            untagged, tagged = conn.command(b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % first)
            ok(tagged)
            fetches = [t for t, _ in untagged if b" FETCH " in t]
            assert len(fetches) == 1 and fetches[0].startswith(b"* 2 FETCH ("), untagged
            assert re.search(rb"UID \d+", fetches[0]) and b"\\Flagged" in fetches[0]
            second = int(re.search(rb"MODSEQ \((\d+)\)", fetches[0]).group(1))
            assert second > first, fetches


def test_qresync_vanished():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 3)
        with RawImap.connect_tls(suite) as conn:
            conn.login("demo")
            ok(conn.command(b"ENABLE QRESYNC")[1])
            ok(conn.command(b"SELECT INBOX")[1])
            untagged, _ = conn.command(b"FETCH 1:3 UID")
            uids = [int(re.search(rb"UID (\d+)", t).group(1)) for t, _ in untagged
                    if b" FETCH " in t]
            assert len(uids) == 3, untagged
            _, tagged = conn.command(b"FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)")
            assert tagged.split()[1] == b"BAD", tagged  # VANISHED needs UID FETCH
            untagged, _ = conn.command(b"FETCH 1:3 MODSEQ")
            before = max(int(re.search(rb"MODSEQ \((\d+)\)", t).group(1))
                         for t, _ in untagged if b" FETCH " in t)
            ok(conn.command(b"STORE 1 +FLAGS.SILENT (\\Deleted)")[1])
            ok(conn.command(b"EXPUNGE")[1])
            ok(conn.command(b"STORE 1 +FLAGS.SILENT (\\Flagged)")[1])
            untagged, tagged = conn.command(b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)"
                                            % before)
            ok(tagged)
            texts = [t for t, _ in untagged]
            assert texts[0] == b"* VANISHED (EARLIER) %d" % uids[0], texts
            fetches = [t for t in texts if b" FETCH " in t]
            assert len(fetches) == 1 and b"UID %d" % uids[1] in fetches[0], texts
            assert b"\\Flagged" in fetches[0] and b"MODSEQ (" in fetches[0], texts


def test_mime_torture_message():
    if not os.path.exists(TORTURE):
        print("skipped: no torture message at " + TORTURE)
        return
    with open(TORTURE, "rb") as f:
        lf = f.read().replace(b"\r\n", b"\n")  # as delivery stores it
    with imap_suite() as suite:
        with selected(suite, make=lambda i, to: lf, n=1) as conn:
            whole = crlf(lf)
            text, lits, tagged = fetch_one(conn, b"FETCH 1 (RFC822.SIZE BODY.PEEK[])")
            ok(tagged)
            assert b"RFC822.SIZE %d" % len(whole) in text and lits == [whole]
            text, lits, _ = fetch_one(conn, b"FETCH 1 BODYSTRUCTURE")
            assert not lits or all(lits), text
            assert text.count(b"(") == text.count(b")"), text[:300]
            assert b'"mixed" ("boundary" "owatagusiam")' in text.lower(), text[-300:]
            # Nested sections are the exact bytes of the message, in order of nesting.
            sections = [b"1", b"2.HEADER", b"2.1", b"2.2.1", b"3.1", b"5", b"6.1", b"6.2.1",
                        b"6.2.3", b"6.MIME", b"6.TEXT", b"7.2", b"11.1", b"2.2.1.MIME"]
            for section in sections:
                text, lits, tagged = fetch_one(conn, b"FETCH 1 BODY.PEEK[" + section + b"]")
                ok(tagged)
                assert len(lits) == 1, (section, text)
                assert lits[0] and lits[0] in whole, (section, lits[0][:200])
            _, lits, _ = fetch_one(conn, b"FETCH 1 BODY.PEEK[2.HEADER]<0.40>")
            _, header, _ = fetch_one(conn, b"FETCH 1 BODY.PEEK[2.HEADER]")
            assert lits[0] == header[0][:40]


if __name__ == "__main__":
    postern_harness.run_tests([test_simple_items_and_macros,
                               test_body_sections_and_partials,
                               test_seen_set_by_body_not_by_peek,
                               test_modseq_and_changedsince,
                               test_qresync_vanished,
                               test_mime_torture_message])
