"""imapd's folder commands over the wire (RFC 3501 6.3, RFC 5258 LIST-EXTENDED basics, RFC 6154
SPECIAL-USE, RFC 3348 CHILDREN): LIST "" "" gives the separator, the special-use folders are
there at first login with their attributes, CREATE/DELETE/RENAME (children along, INBOX's
special rename) with the Maildir++ directories checked on disk, modified UTF-7 names ("Entwürfe"
as "Entw&APw-rfe", invalid spellings refused and never created), SUBSCRIBE/LSUB with \\Noselect
parents, LIST selection and return options with CHILDINFO, STATUS items, and a hostile pattern
that must not take long. Raw TLS sockets so every byte of a reply is checked. Loopback only.
Checked against a throwaway Dovecot (POSTERN_IMAP_REFERENCE=dovecot) where the two agree."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import (REFERENCE, fill_maildir, imap_suite, raw_imaps)  # noqa: E402

DOVECOT = REFERENCE == "dovecot"


def ok(reply):
    untagged, tagged = reply
    assert tagged.split()[1] == b"OK", (tagged, untagged)
    return [text for text, _ in untagged]


def status_of(reply):
    return reply[1].split()[1]


def list_lines(conn, command):
    return [line for line in ok(conn.command(command)) if line.startswith((b"* LIST", b"* LSUB"))]


def names(lines):
    """The mailbox names of LIST/LSUB lines (quotes removed)."""
    out = []
    for line in lines:
        rest = line.split(b') "." ', 1)[1]
        if rest.startswith(b'"'):
            rest = rest[1:rest.index(b'"', 1)]
        else:
            rest = rest.split(b" ")[0]
        out.append(rest.decode())
    return out


def attributes(lines, name):
    for line in lines:
        if names([line]) == [name]:
            return set(line[line.index(b"(") + 1:line.index(b")")].split())
    raise AssertionError(f"{name} not in {lines}")


def folder_dir(suite, name):
    return os.path.join(suite.maildir("demo@example.test"), "." + name)


def test_list_basics_and_special_use():
    with imap_suite() as suite, raw_imaps(suite) as conn:
        assert list_lines(conn, b'LIST "" ""') == [b'* LIST (\\Noselect) "." ""']
        lines = list_lines(conn, b'LIST "" "*"')
        listed = names(lines)
        assert "INBOX" in listed, lines
        for special in ("Drafts", "Sent", "Trash", "Junk", "Archive"):
            assert special in listed, lines
            assert b"\\" + special.encode() in attributes(lines, special), lines
            assert b"\\HasNoChildren" in attributes(lines, special)
        # SPECIAL-USE selection: only those five. RETURN (SPECIAL-USE) on INBOX: none.
        special_lines = list_lines(conn, b'LIST (SPECIAL-USE) "" "*"')
        assert sorted(names(special_lines)) == ["Archive", "Drafts", "Junk", "Sent", "Trash"]
        # INBOX matches case-insensitively; several patterns list each name once.
        assert names(list_lines(conn, b'LIST "" "inbox"')) == ["INBOX"]
        both = list_lines(conn, b'LIST "" ("INBOX" "Sent" "Se*") RETURN (SPECIAL-USE)')
        assert sorted(names(both)) == ["INBOX", "Sent"], both
        # Bad forms.
        assert status_of(conn.command(b'LIST (BOGUS) "" "*"')) == b"BAD"
        assert status_of(conn.command(b'LIST "" "*" RETURN (BOGUS)')) == b"BAD"
        assert status_of(conn.command(b'LIST (RECURSIVEMATCH) "" "*"')) == b"BAD"
        # A pattern built to make a backtracking matcher explode answers at once.
        started = time.monotonic()
        untagged, tagged = conn.command(b'LIST "" "' + b"*%" * 2000 + b'q"')
        assert tagged.split()[1] == b"OK" or DOVECOT, tagged  # Dovecot: pattern too complex
        assert not [t for t, _ in untagged if t.startswith(b"* LIST")], untagged
        assert time.monotonic() - started < 5


def test_create_delete_rename():
    with imap_suite() as suite, raw_imaps(suite) as conn:
        ok(conn.command(b"CREATE Work"))
        assert os.path.isdir(os.path.join(folder_dir(suite, "Work"), "cur"))
        ok(conn.command(b"CREATE Work.Projects"))
        assert status_of(conn.command(b"CREATE Work")) == b"NO"
        assert b"[ALREADYEXISTS]" in conn.command(b"CREATE Work")[1]
        assert status_of(conn.command(b"CREATE INBOX")) == b"NO"
        lines = list_lines(conn, b'LIST "" "*"')
        assert b"\\HasChildren" in attributes(lines, "Work")
        assert b"\\HasNoChildren" in attributes(lines, "Work.Projects")
        assert names(list_lines(conn, b'LIST "" "Work.%"')) == ["Work.Projects"]
        assert names(list_lines(conn, b'LIST "Work." "%"')) == ["Work.Projects"]

        # A deep name without its parents: the parent lists as \Noselect with children.
        ok(conn.command(b"CREATE Deep.Down"))
        top = list_lines(conn, b'LIST "" "%"')
        deep = attributes(top, "Deep")
        assert b"\\HasChildren" in deep and (b"\\Noselect" in deep or b"\\NonExistent" in deep)
        assert status_of(conn.command(b"SELECT Deep")) == b"NO"

        # RENAME takes the children along.
        ok(conn.command(b"RENAME Work Job"))
        listed = names(list_lines(conn, b'LIST "" "*"'))
        assert "Job" in listed and "Job.Projects" in listed, listed
        assert "Work" not in listed and "Work.Projects" not in listed
        assert os.path.isdir(folder_dir(suite, "Job.Projects"))
        assert status_of(conn.command(b"RENAME Nothing Other")) == b"NO"
        ok(conn.command(b"CREATE Taken"))
        reply = conn.command(b"RENAME Job Taken")
        assert status_of(reply) == b"NO", reply

        # DELETE: a leaf goes; INBOX and missing names are refused.
        ok(conn.command(b"DELETE Job.Projects"))
        assert not os.path.exists(folder_dir(suite, "Job.Projects"))
        assert b"[NONEXISTENT]" in conn.command(b"DELETE Job.Projects")[1]
        assert status_of(conn.command(b"DELETE INBOX")) == b"NO"
        ok(conn.command(b"DELETE Job"))
        assert "Job" not in names(list_lines(conn, b'LIST "" "*"'))


def test_rename_inbox_moves_its_messages():
    if DOVECOT:
        return  # Dovecot's Maildir++ refuses RENAME INBOX; RFC 3501 6.3.5 defines it
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 3)
        with raw_imaps(suite) as conn:
            ok(conn.command(b"RENAME INBOX Saved"))
            status = ok(conn.command(b"STATUS Saved (MESSAGES)"))
            assert status[-1] == b"* STATUS Saved (MESSAGES 3)", status
            status = ok(conn.command(b"STATUS INBOX (MESSAGES)"))
            assert status[-1] == b"* STATUS INBOX (MESSAGES 0)", status


def test_modified_utf7_names():
    with imap_suite() as suite, raw_imaps(suite) as conn:
        ok(conn.command(b'CREATE "Entw&APw-rfe"'))
        assert os.path.isdir(folder_dir(suite, "Entw&APw-rfe"))
        assert "Entw&APw-rfe" in names(list_lines(conn, b'LIST "" "*"'))
        ok(conn.command(b'SELECT "Entw&APw-rfe"'))
        ok(conn.command(b'CREATE "Tom &- Jerry"'))
        assert "Tom &- Jerry" in names(list_lines(conn, b'LIST "" "*"'))
        before = sorted(os.listdir(suite.maildir("demo@example.test")))
        for bad in (b'"Entw&AP-rfe"',    # bad padding: no whole UTF-16 unit
                    b'"a&b"',            # unescaped &
                    b'"&AGE-"',          # 'a' encoded
                    b'"&AOQ-&AOQ-"',     # two runs where one is canonical
                    b'"&2D0-"',          # lone high surrogate
                    b'"open&AOQ"',       # unterminated
                    b'{9+}\r\nEntw\xc3\xbcrfe'):  # raw UTF-8
            reply = conn.command(b"CREATE " + bad)
            assert status_of(reply) in (b"NO", b"BAD"), (bad, reply)
        assert sorted(os.listdir(suite.maildir("demo@example.test"))) == before


def test_subscriptions_and_list_extended():
    with imap_suite() as suite, raw_imaps(suite) as conn:
        for name in (b"Lists", b"Lists.Debian", b"Lists.Rust", b"Old"):
            ok(conn.command(b"CREATE " + name))
        ok(conn.command(b"SUBSCRIBE Lists.Debian"))
        ok(conn.command(b"SUBSCRIBE Old"))
        ok(conn.command(b"UNSUBSCRIBE Old"))
        lsub = names(list_lines(conn, b'LSUB "" "*"'))
        assert "Lists.Debian" in lsub and "Old" not in lsub and "Lists" not in lsub, lsub
        # "%": the unsubscribed parent of a subscribed child is listed \Noselect.
        top = list_lines(conn, b'LSUB "" "%"')
        assert "Lists" in names(top) and b"\\Noselect" in attributes(top, "Lists"), top
        assert "Lists.Debian" not in names(top)

        subscribed = list_lines(conn, b'LIST (SUBSCRIBED) "" "*"')
        assert "Lists.Debian" in names(subscribed) and "Lists.Rust" not in names(subscribed)
        assert all(b"\\Subscribed" in line for line in subscribed), subscribed
        # The special-use folders were subscribed at first login.
        assert {"Drafts", "Sent", "Trash", "Junk", "Archive"} <= set(names(subscribed))

        recursive = list_lines(conn, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)')
        lists = [line for line in recursive if names([line]) == ["Lists"]]
        assert len(lists) == 1, recursive
        assert lists[0].replace(b'"CHILDINFO"', b"CHILDINFO").endswith(
            b'(CHILDINFO ("SUBSCRIBED"))'), recursive
        assert b"\\Subscribed" not in lists[0]

        returned = list_lines(conn, b'LIST "" "Lists*" RETURN (SUBSCRIBED CHILDREN)')
        assert b"\\Subscribed" in attributes(returned, "Lists.Debian")
        assert b"\\Subscribed" not in attributes(returned, "Lists.Rust")
        assert b"\\HasChildren" in attributes(returned, "Lists")


def test_status_items():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 4)
        with raw_imaps(suite) as conn:
            lines = ok(conn.command(b"STATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY RECENT)"))
            status = [line for line in lines if line.startswith(b"* STATUS")]
            assert len(status) == 1, lines
            fields = status[0].split(b"(", 1)[1].rstrip(b")").split()
            values = dict(zip(fields[0::2], (int(v) for v in fields[1::2])))
            assert values[b"MESSAGES"] == 4 and values[b"UNSEEN"] == 4, status
            assert values[b"UIDNEXT"] >= 5 and values[b"UIDVALIDITY"] > 0
            ok(conn.command(b"SELECT INBOX"))
            ok(conn.command(b"STORE 1:2 +FLAGS.SILENT (\\Seen)"))
            lines = ok(conn.command(b"STATUS INBOX (UNSEEN MESSAGES HIGHESTMODSEQ)"))
            status = [line for line in lines if line.startswith(b"* STATUS")][0]
            assert b"UNSEEN 2" in status and b"MESSAGES 4" in status, status
            assert b"HIGHESTMODSEQ " in status
            reply = conn.command(b"STATUS Nowhere (MESSAGES)")
            assert status_of(reply) == b"NO", reply
            assert status_of(conn.command(b"STATUS INBOX (BOGUS)")) == b"BAD"
            assert status_of(conn.command(b"STATUS INBOX ()")) == b"BAD"


if __name__ == "__main__":
    postern_harness.run_tests([test_list_basics_and_special_use,
                               test_create_delete_rename,
                               test_rename_inbox_moves_its_messages,
                               test_modified_utf7_names,
                               test_subscriptions_and_list_extended,
                               test_status_items])
