"""curl as an IMAP client of postern-imapd: imaps:// (implicit TLS) and imap:// with --ssl-reqd
(STARTTLS) fetch a message by UID; the bytes curl prints are the Maildir file with CRLF line
ends, exactly (delivery stores LF). Also a section fetch (;SECTION=HEADER and TEXT), the
folder listing (imaps://host/) and a custom SEARCH (-X). Whole suite on loopback."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import (PASSWORD, check_ok, crlf, deliver, fill_maildir, header_of,  # noqa
                          imaps, imap_suite, maildir_files, read_message, which)


def curl(suite, url, *extra):
    result = subprocess.run([which("curl"), "--silent", "--show-error", "--max-time", "30",
                             "--cacert", suite.cert, "--insecure", "--user",
                             f"demo@example.test:{PASSWORD}", *extra, "--url", url],
                            capture_output=True, timeout=60)
    assert result.returncode == 0, f"curl {url} exit {result.returncode}: {result.stderr!r}"
    return result.stdout


def uid_contents(suite):
    """UID -> bytes of the Maildir file of that INBOX message (read now: a fetch without PEEK
    sets \\Seen, which renames the file), matched through Message-ID with a second session."""
    client = imaps(suite)
    check_ok(client.select("INBOX"), "SELECT")
    data = check_ok(client.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"))
    client.logout()
    files = {}
    for path in maildir_files(suite, "demo"):
        content = read_message(path)
        files[header_of(content, "Message-ID")] = content
    result = {}
    for item in data:
        if isinstance(item, tuple):
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            result[uid] = files[header_of(item[1], "Message-ID")]
    return result


def test_curl_fetch_by_uid():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 3)
        deliver(suite, "demo", "for curl", "line one\n\nline three, after an empty line\n" +
                "." * 10 + "\n")
        # A message with a long body and a line that is only a dot.
        fill_maildir(suite, "demo", 1, make=lambda i, to: (
            f"From: <alice@example.test>\nTo: <{to}>\nSubject: long\nMessage-ID: <long@x>\n\n"
            + "".join(f"line {n} " + "y" * 70 + "\n" for n in range(3000)) + ".\n").encode())
        contents = uid_contents(suite)
        assert len(contents) == 5, contents.keys()
        for uid, content in sorted(contents.items()):
            expected = crlf(content)
            got = curl(suite, f"imaps://127.0.0.1:{suite.imaps_port}/INBOX;UID={uid}")
            assert got == expected, (uid, len(got), len(expected), got[:300])
            got = curl(suite, f"imap://127.0.0.1:{suite.imap_port}/INBOX;UID={uid}",
                       "--ssl-reqd")
            assert got == expected, (uid, "STARTTLS", len(got), len(expected))
        uid = max(contents)
        expected = crlf(contents[uid])
        header, _, text = expected.partition(b"\r\n\r\n")
        got = curl(suite, f"imaps://127.0.0.1:{suite.imaps_port}/INBOX;UID={uid};SECTION=HEADER")
        assert got == header + b"\r\n\r\n", got[:300]
        got = curl(suite, f"imaps://127.0.0.1:{suite.imaps_port}/INBOX;UID={uid};SECTION=TEXT")
        assert got == text, (len(got), len(text))


def test_curl_list_and_search():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 4)
        deliver(suite, "demo", "needle in the haystack")
        listing = curl(suite, f"imaps://127.0.0.1:{suite.imaps_port}/").decode()
        names = [line.rsplit(" ", 1)[-1].strip('"') for line in listing.splitlines()
                 if line.startswith("* LIST")]
        for name in ("INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"):
            assert name in names, listing
        found = curl(suite, f"imaps://127.0.0.1:{suite.imaps_port}/INBOX", "--request",
                     "UID SEARCH SUBJECT needle").decode()
        hits = [line for line in found.splitlines() if line.startswith("* SEARCH")]
        assert len(hits) == 1 and len(hits[0].split()) == 3, found
        uid = int(hits[0].split()[2])
        got = curl(suite, f"imaps://127.0.0.1:{suite.imaps_port}/INBOX;UID={uid}")
        assert header_of(got, "Subject") == "needle in the haystack", got[:300]


if __name__ == "__main__":
    postern_harness.run_tests([test_curl_fetch_by_uid, test_curl_list_and_search])
