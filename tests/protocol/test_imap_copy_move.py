"""COPY, MOVE and their UID forms over the wire (RFC 3501 6.4.7, RFC 6851 MOVE, RFC 4315
COPYUID): COPYUID names source and destination UIDs that FETCH then finds with the same flags;
MOVE sends its COPYUID in an untagged OK before the EXPUNGEs, which come before the tagged OK
and carry the right sequence numbers; another session sees the EXPUNGEs; [TRYCREATE] for a
missing folder; bad sets are BAD; COPY into the selected folder itself works. Raw TLS sockets
on loopback; checked against a throwaway Dovecot."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import REFERENCE, fill_maildir, imap_suite, maildir_files, raw_imaps  # noqa: E402

COPYUID = re.compile(rb"\[COPYUID (\d+) ([\d:,]+) ([\d:,]+)\]")


def expand(text):
    out = []
    for part in text.split(b","):
        if b":" in part:
            a, b = (int(x) for x in part.split(b":"))
            out += list(range(min(a, b), max(a, b) + 1))
        else:
            out.append(int(part))
    return out


def uids(conn):
    untagged, tagged = conn.command(b"UID SEARCH ALL")
    assert tagged.split()[1] == b"OK", tagged
    found = [t for t, _ in untagged if t.startswith(b"* SEARCH")]
    return [int(x) for x in found[0].split()[2:]]


def test_copy_with_copyuid():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 5)
        with raw_imaps(suite) as conn:
            assert conn.command(b"SELECT INBOX")[1].split()[1] == b"OK"
            source = uids(conn)
            assert conn.command(b"STORE 2 +FLAGS.SILENT (\\Flagged)")[1].split()[1] == b"OK"
            _, tagged = conn.command(b"COPY 2:4 Archive")
            match = COPYUID.search(tagged)
            assert tagged.split()[1] == b"OK" and match, tagged
            assert expand(match.group(2)) == source[1:4]
            destination = expand(match.group(3))
            assert len(destination) == 3 and len(maildir_files(suite, "demo", "Archive")) == 3
            assert len(maildir_files(suite, "demo")) == 5  # the sources stay
            with raw_imaps(suite) as other:
                untagged, _ = other.command(b"SELECT Archive")
                assert b"[UIDVALIDITY %s]" % match.group(1) in b" ".join(t for t, _ in untagged)
                untagged, _ = other.command(b"UID FETCH %d (FLAGS)" % destination[0])
                assert b"\\Flagged" in untagged[0][0], untagged
            # UID COPY; into the selected folder itself; errors.
            _, tagged = conn.command(b"UID COPY %d Trash" % source[0])
            assert tagged.split()[1] == b"OK" and COPYUID.search(tagged), tagged
            untagged, tagged = conn.command(b"COPY 1 INBOX")
            assert tagged.split()[1] == b"OK", tagged
            heard = [t for t, _ in untagged] + [t for t, _ in conn.command(b"NOOP")[0]]
            assert b"* 6 EXISTS" in heard, heard
            _, tagged = conn.command(b"COPY 1 Nowhere")
            assert tagged.split()[1] == b"NO" and b"[TRYCREATE]" in tagged, tagged
            for bad in (b"COPY 0 Trash", b"COPY 99 Trash", b"COPY x Trash", b"COPY 1"):
                assert conn.command(bad)[1].split()[1] == b"BAD", bad


def test_move_reports_copyuid_then_expunges():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 6)
        with raw_imaps(suite) as conn, raw_imaps(suite) as watcher:
            assert conn.command(b"SELECT INBOX")[1].split()[1] == b"OK"
            assert watcher.command(b"SELECT INBOX")[1].split()[1] == b"OK"
            before = uids(conn)
            untagged, tagged = conn.command(b"MOVE 2,4:5 Trash")
            assert tagged.split()[1] == b"OK", tagged
            lines = [t for t, _ in untagged]
            assert lines and lines[0].startswith(b"* OK [COPYUID"), lines
            match = COPYUID.search(lines[0])
            assert expand(match.group(2)) == [before[1], before[3], before[4]], lines
            view = list(before)
            for line in lines[1:]:
                m = re.match(rb"\* (\d+) EXPUNGE$", line)
                if m:
                    del view[int(m.group(1)) - 1]
            assert view == [before[0], before[2], before[5]], lines
            assert uids(conn) == view
            assert len(maildir_files(suite, "demo", "Trash")) == 3
            assert len(maildir_files(suite, "demo")) == 3
            # The other session learns of it with numbers that fit its own view.
            untagged, _ = watcher.command(b"NOOP")
            seen = list(before)
            for text, _ in untagged:
                m = re.match(rb"\* (\d+) EXPUNGE$", text)
                if m:
                    del seen[int(m.group(1)) - 1]
            assert seen == view, untagged
            # UID MOVE of a UID that is gone: nothing to do, not an error.
            _, tagged = conn.command(b"UID MOVE %d Trash" % before[1])
            assert tagged.split()[1] in (b"OK", b"NO"), tagged
            _, tagged = conn.command(b"UID MOVE %d Nowhere" % view[0])
            assert b"[TRYCREATE]" in tagged, tagged
            # EXAMINE: MOVE would expunge, so it is refused.
            assert conn.command(b"EXAMINE INBOX")[1].split()[1] == b"OK"
            tagged = conn.command(b"MOVE 1 Trash")[1]
            if REFERENCE != "dovecot":  # Dovecot 2.3 moves out of an EXAMINEd folder
                assert tagged.split()[1] == b"NO", tagged
                assert len(maildir_files(suite, "demo")) == 3


if __name__ == "__main__":
    postern_harness.run_tests([test_copy_with_copyuid,
                               test_move_reports_copyuid_then_expunges])
