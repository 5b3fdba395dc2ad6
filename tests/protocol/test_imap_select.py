"""SELECT/EXAMINE and the selected state over the wire (RFC 3501 6.3.1/6.3.2, 6.4.1-6.4.3,
RFC 3691 UNSELECT, RFC 4315 UID EXPUNGE): the full untagged set (FLAGS, PERMANENTFLAGS with \\*,
EXISTS, RECENT, UNSEEN as the first unseen sequence number, UIDVALIDITY, UIDNEXT,
HIGHESTMODSEQ) and [READ-WRITE]/[READ-ONLY]; \\Recent given to one session only; EXAMINE
refuses writes; EXPUNGE and UID EXPUNGE report the right numbers; CLOSE expunges silently,
UNSELECT does not; a failed SELECT leaves no folder selected; SELECT while selected says
[CLOSED]. Raw TLS sockets on loopback; checked against a throwaway Dovecot."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import fill_maildir, imap_suite, raw_imaps  # noqa: E402


def lines_of(reply):
    untagged, tagged = reply
    return [text for text, _ in untagged], tagged


def expect_ok(reply):
    lines, tagged = lines_of(reply)
    assert tagged.split()[1] == b"OK", (tagged, lines)
    return lines, tagged


def code(lines, name):
    for line in lines:
        match = re.match(rb"\* OK \[" + name + rb" ?([^\]]*)\]", line)
        if match:
            return match.group(1)
    return None


def count(lines, word):
    for line in lines:
        match = re.match(rb"\* (\d+) " + word + rb"$", line)
        if match:
            return int(match.group(1))
    return None


def uids(conn):
    lines, _ = expect_ok(conn.command(b"UID SEARCH ALL"))
    found = [line for line in lines if line.startswith(b"* SEARCH")]
    return [int(x) for x in found[0].split()[2:]]


def test_select_response_set():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 5)
        with raw_imaps(suite) as a, raw_imaps(suite) as b:
            # Messages 1 and 2 seen: UNSEEN is 3, the first unseen sequence number.
            expect_ok(a.command(b"SELECT INBOX"))
            expect_ok(a.command(b"STORE 1:2 +FLAGS.SILENT (\\Seen)"))
            expect_ok(a.command(b"UNSELECT"))
            lines, tagged = expect_ok(b.command(b"SELECT INBOX"))
            assert b"[READ-WRITE]" in tagged, tagged
            flags = [line for line in lines if line.startswith(b"* FLAGS")]
            assert len(flags) == 1
            for flag in (b"\\Answered", b"\\Flagged", b"\\Deleted", b"\\Seen", b"\\Draft"):
                assert flag in flags[0], flags
            permanent = code(lines, b"PERMANENTFLAGS")
            assert permanent is not None and b"\\*" in permanent, lines
            assert count(lines, b"EXISTS") == 5 and count(lines, b"RECENT") is not None, lines
            assert code(lines, b"UNSEEN") == b"3", lines
            assert int(code(lines, b"UIDVALIDITY")) > 0
            assert int(code(lines, b"UIDNEXT")) > max(uids(b))
            # EXAMINE: read-only, no permanent flags, STORE and EXPUNGE refused.
            lines, tagged = expect_ok(b.command(b"EXAMINE INBOX"))
            assert b"[READ-ONLY]" in tagged and code(lines, b"PERMANENTFLAGS") == b"()", lines
            assert code(lines, b"CLOSED") is not None or any(b"[CLOSED]" in l for l in lines)
            _, tagged = lines_of(b.command(b"STORE 1 +FLAGS (\\Flagged)"))
            assert tagged.split()[1] in (b"NO", b"OK"), tagged  # Dovecot: "OK Store ignored"
            lines, _ = expect_ok(b.command(b"FETCH 1 (FLAGS)"))
            assert b"\\Flagged" not in lines[0], lines
            _, tagged = lines_of(b.command(b"EXPUNGE"))
            assert tagged.split()[1] in (b"NO", b"OK"), tagged
            assert count(expect_ok(b.command(b"NOOP"))[0], b"EXPUNGE") is None


def test_recent_belongs_to_one_session():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 3)
        with raw_imaps(suite) as a, raw_imaps(suite) as b:
            lines, _ = expect_ok(a.command(b"SELECT INBOX"))
            assert count(lines, b"RECENT") == 3, lines
            lines, _ = expect_ok(b.command(b"SELECT INBOX"))
            assert count(lines, b"RECENT") == 0, lines
            lines, _ = expect_ok(a.command(b"FETCH 1:3 (FLAGS)"))
            assert all(b"\\Recent" in line for line in lines if b"FETCH" in line), lines


def test_expunge_close_unselect():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 6)
        with raw_imaps(suite) as conn:
            expect_ok(conn.command(b"SELECT INBOX"))
            all_uids = uids(conn)
            expect_ok(conn.command(b"STORE 2,4 +FLAGS.SILENT (\\Deleted)"))
            lines, _ = expect_ok(conn.command(b"EXPUNGE"))
            expunged = [int(l.split()[1]) for l in lines if l.endswith(b" EXPUNGE")]
            # Applied in order to the view, the numbers must remove messages 2 and 4.
            view = list(all_uids)
            for seq in expunged:
                del view[seq - 1]
            assert view == [u for i, u in enumerate(all_uids) if i not in (1, 3)], lines
            assert uids(conn) == view

            # UID EXPUNGE removes only the \Deleted messages in its set.
            expect_ok(conn.command(b"STORE 1:2 +FLAGS.SILENT (\\Deleted)"))
            lines, _ = expect_ok(conn.command(b"UID EXPUNGE %d" % view[0]))
            assert [l for l in lines if l.endswith(b" EXPUNGE")] == [b"* 1 EXPUNGE"], lines
            view = view[1:]
            assert uids(conn) == view
            _, tagged = lines_of(conn.command(b"UID EXPUNGE"))
            assert tagged.split()[1] == b"BAD", tagged

            # UNSELECT leaves the \Deleted message; CLOSE expunges it without a word.
            expect_ok(conn.command(b"UNSELECT"))
            _, tagged = lines_of(conn.command(b"FETCH 1 (FLAGS)"))
            assert tagged.split()[1] == b"BAD", tagged  # no folder selected
            lines, _ = expect_ok(conn.command(b"SELECT INBOX"))
            assert count(lines, b"EXISTS") == len(view)
            lines, _ = expect_ok(conn.command(b"CLOSE"))
            assert not [l for l in lines if b"EXPUNGE" in l], lines
            lines, _ = expect_ok(conn.command(b"SELECT INBOX"))
            assert count(lines, b"EXISTS") == len(view) - 1, lines
            expect_ok(conn.command(b"CHECK"))

            # A failed SELECT leaves the session unselected.
            _, tagged = lines_of(conn.command(b"SELECT Nowhere"))
            assert tagged.split()[1] == b"NO", tagged
            _, tagged = lines_of(conn.command(b"FETCH 1 (FLAGS)"))
            assert tagged.split()[1] == b"BAD", tagged


if __name__ == "__main__":
    postern_harness.run_tests([test_select_response_set,
                               test_recent_belongs_to_one_session,
                               test_expunge_close_unselect])
