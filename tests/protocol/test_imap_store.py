"""IMAP STORE against the running imapd (RFC 3501 6.4.6, RFC 7162 3.1.3): FLAGS, +FLAGS, -FLAGS
and their .SILENT forms with system flags and keywords, UID STORE carrying UID, flags written
to the Maildir file name (info ":2,<letters>"), no FETCH for a message whose flags did not
change (as Dovecot), the MODSEQ-only FETCH of .SILENT under CONDSTORE, UNCHANGEDSINCE ->
[MODIFIED set] (sequence numbers, or UIDs for UID STORE), read-only EXAMINE refused, malformed
STORE refused with BAD; a keyword new to the folder announced by FLAGS and PERMANENTFLAGS before
the FETCH that shows it (imaptest: "Keyword used without being in FLAGS"); a keyword named NIL
refused with BAD. Checked against a throwaway Dovecot 2.3 (POSTERN_IMAP_REFERENCE=dovecot),
which differs on purpose in one place: it takes NIL as a keyword.
Raw sockets over TLS on loopback; every read has a timeout."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import (REFERENCE, KeywordWatch, RawImap, fill_maildir, imap_suite,  # noqa: E402
                          maildir_files, maildir_flags)
from postern_harness import wait_until  # noqa: E402


def ok(tagged):
    assert tagged.split()[1] == b"OK", tagged


def fetch_lines(untagged):
    return [t for t, _ in untagged if re.match(rb"\* \d+ FETCH ", t)]


def selected(suite, n=3):
    fill_maildir(suite, "demo", n)
    conn = RawImap.connect_tls(suite)
    conn.login("demo")
    ok(conn.command(b"SELECT INBOX")[1])
    return conn


def test_store_forms():
    with imap_suite() as suite:
        with selected(suite) as conn:
            untagged, tagged = conn.command(b"STORE 1:2 +FLAGS (\\Flagged $Work)")
            ok(tagged)
            lines = fetch_lines(untagged)
            assert len(lines) == 2, untagged
            for seq, line in zip((1, 2), lines):
                assert line.startswith(b"* %d FETCH (" % seq), line
                flags = set(re.search(rb"FLAGS \(([^)]*)\)", line).group(1).split())
                assert flags == {b"\\Flagged", b"$Work", b"\\Recent"}, line
            # Nothing changes: no FETCH at all.
            untagged, tagged = conn.command(b"STORE 1:2 +FLAGS (\\Flagged)")
            ok(tagged)
            assert fetch_lines(untagged) == [], untagged
            untagged, tagged = conn.command(b"STORE 1 -FLAGS.SILENT (\\Flagged)")
            ok(tagged)
            assert fetch_lines(untagged) == [], untagged
            untagged, tagged = conn.command(b"STORE 3 FLAGS \\Seen \\Answered")
            ok(tagged)
            line = fetch_lines(untagged)[0]
            assert set(re.search(rb"FLAGS \(([^)]*)\)", line).group(1).split()) == \
                {b"\\Seen", b"\\Answered", b"\\Recent"}, line
            untagged, _ = conn.command(b"FETCH 1:3 (UID FLAGS)")
            uids = [int(re.search(rb"UID (\d+)", t).group(1)) for t in fetch_lines(untagged)]
            untagged, tagged = conn.command(b"UID STORE %d -FLAGS ($Work)" % uids[1])
            ok(tagged)
            line = fetch_lines(untagged)[0]
            assert line.startswith(b"* 2 FETCH (") and b"UID %d" % uids[1] in line, line
            # The Maildir file names carry the system flags (keywords: index or letters a-z).
            def names_match():
                found = sorted("".join(c for c in maildir_flags(p) if c.isupper())
                               for p in maildir_files(suite, "demo"))
                return found == sorted(["", "F", "RS"]) or None
            wait_until(names_match, 10, 0.05, "Maildir flags '', F, RS")
            for bad in (b"STORE 1 FLAGS (\\Recent)", b"STORE 1 FLAGS (\\Bogus)",
                        b"STORE 1 XFLAGS (\\Seen)", b"STORE 9 +FLAGS x",
                        b"STORE 1 (UNCHANGEDSINCE x) +FLAGS y") + \
                    ((b"STORE 1 +FLAGS",) if REFERENCE != "dovecot" else ()):
                # (Dovecot accepts a STORE without flags; RFC 3501's grammar does not.)
                _, tagged = conn.command(bad)
                assert tagged.split()[1] == b"BAD", (bad, tagged)


def test_new_keyword_announced_before_fetch():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 2)
        with RawImap.connect_tls(suite) as conn:
            conn.login("demo")
            watch = KeywordWatch()  # imaptest: "Keyword used without being in FLAGS"
            untagged, tagged = conn.command(b"SELECT INBOX")
            ok(tagged)
            watch.see(untagged)
            assert not watch.has(b"$Label4"), untagged
            untagged, tagged = conn.command(b"STORE 1 +FLAGS ($Label4)")
            ok(tagged)
            watch.see(untagged)
            texts = [t for t, _ in untagged]
            assert len(texts) == 3, texts
            assert texts[0].startswith(b"* FLAGS (") and b"$Label4" in texts[0], texts
            assert texts[1].startswith(b"* OK [PERMANENTFLAGS (") and b"$Label4" in texts[1] \
                and b"\\*" in texts[1], texts
            assert re.match(rb"\* 1 FETCH \(.*\$Label4", texts[2]), texts
            # Known now: a second STORE of it gets no FLAGS.
            untagged, tagged = conn.command(b"STORE 2 +FLAGS ($Label4)")
            ok(tagged)
            watch.see(untagged)
            assert [t for t, _ in untagged if t.startswith(b"* FLAGS")] == [], untagged
            assert watch.announcements == 2, watch.announcements  # SELECT's and the STORE's
            # NIL is no keyword: a client's generic parser reads FLAGS (NIL) as nothing.
            for command in (b"STORE 2 +FLAGS.SILENT (NIL)", b"STORE 2 +FLAGS nil"):
                untagged, tagged = conn.command(command)
                assert tagged.split(b" ")[1] == b"BAD", (command, tagged)
                watch.see(untagged)
            # A new keyword through .SILENT is announced too.
            untagged, tagged = conn.command(b"STORE 2 +FLAGS.SILENT ($Label5)")
            ok(tagged)
            watch.see(untagged)
            assert watch.has(b"$Label5") and watch.announcements == 3, untagged
            untagged, tagged = conn.command(b"FETCH 1:2 FLAGS")
            ok(tagged)
            watch.see(untagged)
            flags = [set(re.search(rb"FLAGS \(([^)]*)\)", line).group(1).split())
                     for line in fetch_lines(untagged)]
            assert flags == [{b"$Label4", b"\\Recent"}, {b"$Label4", b"$Label5", b"\\Recent"}], \
                untagged


def test_condstore_store():
    with imap_suite() as suite:
        with selected(suite, n=2) as conn:
            ok(conn.command(b"ENABLE CONDSTORE")[1])
            untagged, tagged = conn.command(b"STORE 1:2 +FLAGS.SILENT (\\Answered)")
            ok(tagged)
            lines = fetch_lines(untagged)
            assert [l.split(b" FETCH ")[0] for l in lines] == [b"* 1", b"* 2"], untagged
            assert all(re.fullmatch(rb"\* \d FETCH \(MODSEQ \(\d+\)\)", l) for l in lines), lines
            modseq = int(re.search(rb"MODSEQ \((\d+)\)", lines[0]).group(1))
            _, tagged = conn.command(b"STORE 1:2 (UNCHANGEDSINCE 1) +FLAGS (\\Draft)")
            assert re.match(rb"t\d+ OK \[MODIFIED 1:2\] ", tagged), tagged
            untagged, _ = conn.command(b"FETCH 1:2 UID")
            uids = [int(re.search(rb"UID (\d+)", t).group(1)) for t in fetch_lines(untagged)]
            _, tagged = conn.command(b"UID STORE 1:* (UNCHANGEDSINCE 1) +FLAGS (\\Draft)")
            assert re.match(rb"t\d+ OK \[MODIFIED %d:%d\] " % (uids[0], uids[1]), tagged) or \
                re.match(rb"t\d+ OK \[MODIFIED %d,%d\] " % (uids[0], uids[1]), tagged), tagged
            untagged, tagged = conn.command(
                b"STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Draft)" % modseq)
            ok(tagged)
            assert b"MODIFIED" not in tagged
            line = fetch_lines(untagged)[0]
            assert b"\\Draft" in line and re.search(rb"MODSEQ \((\d+)\)", line), line
            assert int(re.search(rb"MODSEQ \((\d+)\)", line).group(1)) > modseq


def test_examine_is_read_only():
    with imap_suite() as suite:
        with selected(suite, n=1) as conn:
            ok(conn.command(b"EXAMINE INBOX")[1])
            # Postern answers NO [READ-ONLY], Dovecot "OK Store ignored": the flags stay.
            untagged, tagged = conn.command(b"STORE 1 +FLAGS (\\Seen)")
            assert tagged.split()[1] in (b"NO", b"OK"), tagged
            assert fetch_lines(untagged) == [], untagged
            untagged, _ = conn.command(b"FETCH 1 FLAGS")
            assert b"\\Seen" not in fetch_lines(untagged)[0], untagged
            assert all(maildir_flags(p) == "" for p in maildir_files(suite, "demo"))


if __name__ == "__main__":
    postern_harness.run_tests([test_store_forms,
                               test_new_keyword_announced_before_fetch,
                               test_condstore_store,
                               test_examine_is_read_only])
