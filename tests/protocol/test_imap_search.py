"""IMAP SEARCH against the running imapd (RFC 3501 6.4.4, RFC 4731 ESEARCH, RFC 7162 MODSEQ):
flag, size, date, sequence-set, UID, header (FROM/TO/CC/BCC/SUBJECT/HEADER), BODY and TEXT keys,
NOT/OR/parentheses, CHARSET UTF-8 with a literal holding UTF-8 against an RFC 2047 subject and a
quoted-printable body, BADCHARSET for other charsets, UID SEARCH answering UIDs, ESEARCH
MIN/MAX/COUNT/ALL, MODSEQ in the reply, and a malformed key refused with BAD. Messages are
delivered into the Maildir as delivery writes them. Checked against a throwaway Dovecot 2.3
(POSTERN_IMAP_REFERENCE=dovecot). Raw sockets over TLS on loopback; every read has a timeout."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import RawImap, fill_maildir, imap_suite  # noqa: E402

MESSAGES = [
    (b"From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.test>\nTo: Bob <bob@example.test>\n"
     b"Cc: carol@example.test\nSubject: =?utf-8?b?R3LDvMOfZSBhdXMgS8O2bG4=?=\n"
     b"Date: Tue, 1 Feb 1994 10:00:00 +0100\nMessage-ID: <m1@example.test>\n"
     b"X-Mailer: mutt\n\nHello body line one.\nSecond line: findme.\n"),
    (b"From: Alice <alice@example.test>\nTo: bob@example.test\nSubject: multipart one\n"
     b"Date: Wed, 2 Feb 1994 10:00:00 +0000\nMIME-Version: 1.0\n"
     b"Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\n"
     b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
     b"caf=C3=A9 au lait with a long enough body to be larger than the first message, "
     b"padding padding padding padding padding padding padding padding padding padding\n"
     b"--XX\nContent-Type: message/rfc822\n\nFrom: Inner <inner@example.test>\n"
     b"Subject: inner message\n\nnested needle\n--XX--\n"),
    (b"From: Carol <carol@example.test>\nTo: dave@example.test\nBcc: eve@example.test\n"
     b"Subject: plain third\nDate: Thu, 3 Feb 1994 10:00:00 +0000\n\nnothing here\n"),
]


def ok(tagged):
    assert tagged.split()[1] == b"OK", tagged


def search(conn, criteria):
    untagged, tagged = conn.command(b"SEARCH " + criteria)
    ok(tagged)
    lines = [t for t, _ in untagged if t.startswith(b"* SEARCH")]
    assert len(lines) == 1, untagged
    return [int(n) for n in lines[0].split()[2:]]


def selected(suite):
    fill_maildir(suite, "demo", len(MESSAGES), make=lambda i, to: MESSAGES[i])
    conn = RawImap.connect_tls(suite)
    conn.login("demo")
    ok(conn.command(b"SELECT INBOX")[1])
    return conn


def test_search_keys():
    with imap_suite() as suite:
        with selected(suite) as conn:
            ok(conn.command(b"STORE 2 +FLAGS (\\Flagged $Work)")[1])
            ok(conn.command(b"STORE 3 +FLAGS (\\Deleted \\Seen)")[1])
            cases = [
                (b"ALL", [1, 2, 3]), (b"FLAGGED", [2]), (b"UNFLAGGED", [1, 3]),
                (b"DELETED", [3]), (b"UNDELETED", [1, 2]), (b"SEEN", [3]), (b"UNSEEN", [1, 2]),
                (b"ANSWERED", []), (b"UNANSWERED", [1, 2, 3]), (b"DRAFT", []),
                (b"UNDRAFT", [1, 2, 3]), (b"KEYWORD $Work", [2]), (b"UNKEYWORD $Work", [1, 3]),
                (b"RECENT", [1, 2, 3]), (b"NEW", [1, 2]), (b"OLD", []),
                (b"NOT FLAGGED", [1, 3]), (b"OR FLAGGED DELETED", [2, 3]),
                (b"(FLAGGED) (UNDELETED)", [2]), (b"NOT (OR SEEN FLAGGED)", [1]),
                (b"2:*", [2, 3]), (b"1,3", [1, 3]), (b"*", [3]),
                (b"FROM alice", [2]), (b"FROM CAROL", [3]), (b"TO bob", [1, 2]),
                (b"CC carol", [1]), (b"BCC eve", [3]), (b"SUBJECT multipart", [2]),
                (b'HEADER X-Mailer ""', [1]), (b"HEADER Content-Type mixed", [2]),
                (b"BODY findme", [1]), (b"BODY needle", [2]), (b"TEXT Carol", [1, 3]),
                (b"TEXT findme", [1]),
                # BODY looks at the decoded text parts (as Dovecot), not an embedded header.
                (b"BODY subject", []),
                (b"SENTON 1-Feb-1994", [1]), (b"SENTBEFORE 2-Feb-1994", [1]),
                (b"SENTSINCE 2-Feb-1994", [2, 3]), (b"SINCE 1-Jan-2000", [1, 2, 3]),
                (b"BEFORE 1-Jan-2000", []), (b"ON 1-Jan-2000", []),
                (b"LARGER 300", [2]), (b"SMALLER 300", [1, 3]),
            ]
            for criteria, expected in cases:
                assert search(conn, criteria) == expected, (criteria, expected)
            untagged, _ = conn.command(b"FETCH 1:3 UID")
            uids = [int(re.search(rb"UID (\d+)", t).group(1)) for t, _ in untagged
                    if b" FETCH " in t]
            untagged, tagged = conn.command(b"UID SEARCH FLAGGED")
            ok(tagged)
            assert untagged[0][0] == b"* SEARCH %d" % uids[1], untagged
            assert search(conn, b"UID %d" % uids[2]) == [3]
            assert search(conn, b"UID %d:*" % (uids[2] + 100)) == [3]  # RFC 3501 6.4.8
            for bad in (b"SEARCH BOGUS", b"SEARCH", b"SEARCH NOT", b"SEARCH BEFORE 1-Foo-1994",
                        b"SEARCH LARGER x", b"SEARCH (SEEN"):
                _, tagged = conn.command(bad)
                assert tagged.split()[1] == b"BAD", (bad, tagged)


def test_utf8_charset_and_rfc2047():
    with imap_suite() as suite:
        with selected(suite) as conn:
            grusse = "Grüße".encode()
            for criteria, expected in ((b"SUBJECT", [1]), (b"FROM", [])):
                conn.send(b"u1 SEARCH CHARSET UTF-8 " + criteria + b" {%d}\r\n" % len(grusse))
                line = conn.read_raw_line()
                assert line.startswith(b"+"), line
                conn.send(grusse + b"\r\n")
                untagged, tagged = conn.read_until_tagged(b"u1")
                ok(tagged)
                got = [int(n) for n in untagged[0][0].split()[2:]]
                assert got == expected, (criteria, untagged)
            name = "jürgen".encode()
            conn.send(b"u2 SEARCH CHARSET UTF-8 FROM {%d+}\r\n" % len(name) + name + b"\r\n")
            untagged, tagged = conn.read_until_tagged(b"u2")
            ok(tagged)
            assert untagged[0][0] == b"* SEARCH 1", untagged
            cafe = "CAFÉ AU".encode()
            conn.send(b"u3 SEARCH CHARSET utf-8 BODY {%d+}\r\n" % len(cafe) + cafe + b"\r\n")
            untagged, tagged = conn.read_until_tagged(b"u3")
            ok(tagged)
            assert untagged[0][0] == b"* SEARCH 2", untagged
            if os.environ.get("POSTERN_IMAP_REFERENCE") != "dovecot":
                # Dovecot converts any charset iconv knows; Postern takes UTF-8 and US-ASCII.
                _, tagged = conn.command(b"SEARCH CHARSET KOI8-R ALL")
                assert re.match(rb"t\d+ NO \[BADCHARSET \(UTF-8 US-ASCII\)\]", tagged), tagged


def test_esearch_and_modseq():
    with imap_suite() as suite:
        with selected(suite) as conn:
            ok(conn.command(b"STORE 1,3 +FLAGS (\\Seen)")[1])
            untagged, tagged = conn.command(b"SEARCH RETURN (MIN MAX COUNT ALL) ALL", b"e1")
            ok(tagged)
            line = untagged[0][0]
            assert line.startswith(b'* ESEARCH (TAG "e1") '), line
            items = dict(re.findall(rb"(MIN|MAX|COUNT|ALL) (\S+)", line))
            assert items == {b"MIN": b"1", b"MAX": b"3", b"COUNT": b"3", b"ALL": b"1:3"}, line
            untagged, _ = conn.command(b"FETCH 1:3 UID")
            uids = [int(re.search(rb"UID (\d+)", t).group(1)) for t, _ in untagged
                    if b" FETCH " in t]
            untagged, tagged = conn.command(b"UID SEARCH RETURN () SEEN", b"e2")
            ok(tagged)
            assert untagged[0][0] == b'* ESEARCH (TAG "e2") UID ALL %d,%d' % (uids[0], uids[2]), \
                untagged
            untagged, _ = conn.command(b"SEARCH RETURN (COUNT) DELETED", b"e3")
            assert untagged[0][0] == b'* ESEARCH (TAG "e3") COUNT 0', untagged
            untagged, _ = conn.command(b"FETCH 1:3 MODSEQ")
            modseqs = [int(re.search(rb"MODSEQ \((\d+)\)", t).group(1)) for t, _ in untagged
                       if b" FETCH " in t]
            untagged, tagged = conn.command(b"SEARCH MODSEQ %d" % max(modseqs))
            ok(tagged)
            expect = [i + 1 for i, m in enumerate(modseqs) if m >= max(modseqs)]
            assert untagged[-1][0] == b"* SEARCH %s (MODSEQ %d)" % (
                b" ".join(b"%d" % n for n in expect), max(modseqs)), untagged


if __name__ == "__main__":
    postern_harness.run_tests([test_search_keys, test_utf8_charset_and_rfc2047,
                               test_esearch_and_modseq])
