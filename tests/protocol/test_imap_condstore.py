"""CONDSTORE and QRESYNC at SELECT (RFC 7162 3.1.2, 3.2.5): SELECT (CONDSTORE) gives
HIGHESTMODSEQ and MODSEQ in later unsolicited FETCH; with QRESYNC enabled, SELECT (QRESYNC
(uidvalidity modseq [known-uids])) reports what changed since modseq: VANISHED (EARLIER) for
the expunged UIDs (limited to the known UIDs) and FETCH with UID, FLAGS and MODSEQ for the
changed ones; a wrong UIDVALIDITY gets no such report; QRESYNC without ENABLE is BAD; EXPUNGE
under QRESYNC reports VANISHED. (FETCH/STORE MODSEQ themselves are tested with those
commands.) Raw TLS sockets on loopback; checked against a throwaway Dovecot."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import fill_maildir, imap_suite, raw_imaps  # noqa: E402


def ok(conn, command):
    untagged, tagged = conn.command(command)
    assert tagged.split()[1] == b"OK", (command, tagged, untagged)
    return [t for t, _ in untagged], tagged


def code(lines, name):
    for line in lines:
        m = re.match(rb"\* OK \[" + name + rb" (\d+)\]", line)
        if m:
            return int(m.group(1))
    return None


def uids(conn):
    lines, _ = ok(conn, b"UID SEARCH ALL")
    return [int(x) for x in [l for l in lines if l.startswith(b"* SEARCH")][0].split()[2:]]


def test_condstore_select():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 3)
        with raw_imaps(suite) as a, raw_imaps(suite) as b:
            lines, _ = ok(a, b"SELECT INBOX (CONDSTORE)")
            first = code(lines, b"HIGHESTMODSEQ")
            assert first is not None and first > 0, lines
            ok(b, b"SELECT INBOX")
            ok(b, b"STORE 2 +FLAGS.SILENT (\\Flagged)")
            lines, _ = ok(a, b"NOOP")
            fetch = [l for l in lines if b"FETCH" in l]
            assert len(fetch) == 1 and fetch[0].startswith(b"* 2 FETCH"), lines
            m = re.search(rb"MODSEQ \((\d+)\)", fetch[0])
            assert m and int(m.group(1)) > first and b"\\Flagged" in fetch[0], fetch
            lines, _ = ok(a, b"STATUS Sent (HIGHESTMODSEQ)")
            assert re.search(rb"HIGHESTMODSEQ \d+", lines[0]), lines


def test_qresync_select():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 6)
        with raw_imaps(suite) as conn:
            _, tagged = conn.command(b"SELECT INBOX (QRESYNC (1 1))")
            assert tagged.split()[1] == b"BAD", tagged
            ok(conn, b"ENABLE QRESYNC")
            lines, _ = ok(conn, b"SELECT INBOX")
            uidvalidity = code(lines, b"UIDVALIDITY")
            modseq = code(lines, b"HIGHESTMODSEQ")
            all_uids = uids(conn)
            # Changes after the client's last sync: flags of message 1, expunge of 3 and 5.
            ok(conn, b"STORE 1 +FLAGS.SILENT (\\Answered)")
            ok(conn, b"STORE 3,5 +FLAGS.SILENT (\\Deleted)")
            lines, _ = ok(conn, b"EXPUNGE")
            vanished = [l for l in lines if l.startswith(b"* VANISHED")]
            assert vanished and not [l for l in lines if l.endswith(b"EXPUNGE")], lines
            ok(conn, b"UNSELECT")

            lines, _ = ok(conn, b"SELECT INBOX (QRESYNC (%d %d))" % (uidvalidity, modseq))
            earlier = [l for l in lines if l.startswith(b"* VANISHED (EARLIER)")]
            assert len(earlier) == 1, lines
            gone = earlier[0].split()[-1]
            assert gone in (b"%d,%d" % (all_uids[2], all_uids[4]),), earlier
            fetches = [l for l in lines if b" FETCH " in l]
            changed = [l for l in fetches if b"UID %d " % all_uids[0] in l]
            assert changed and b"\\Answered" in changed[0] and b"MODSEQ (" in changed[0], lines

            # Only the known UIDs: the first expunged UID is not among them.
            known = b"%d:%d" % (all_uids[3], all_uids[5])
            lines, _ = ok(conn, b"SELECT INBOX (QRESYNC (%d %d %s))" % (uidvalidity, modseq, known))
            assert any(b"[CLOSED]" in l for l in lines), lines
            earlier = [l for l in lines if l.startswith(b"* VANISHED (EARLIER)")]
            assert [e.split()[-1] for e in earlier] == [b"%d" % all_uids[4]], lines

            # Another UIDVALIDITY: the client's cache is void, no VANISHED, no FETCH.
            lines, _ = ok(conn, b"SELECT INBOX (QRESYNC (%d %d))" % (uidvalidity + 1, modseq))
            assert not [l for l in lines if b"VANISHED" in l or b" FETCH " in l], lines
            for bad in (b"SELECT INBOX (QRESYNC (1))",
                        b"SELECT INBOX (QRESYNC (1 x))", b"SELECT INBOX (BOGUS)"):
                assert conn.command(bad)[1].split()[1] == b"BAD", bad


if __name__ == "__main__":
    postern_harness.run_tests([test_condstore_select, test_qresync_select])
