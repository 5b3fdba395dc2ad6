"""Hostile input to imapd: malformed and huge literals, a literal cut short by a disconnect,
non-synchronising literals over the limits, unbalanced and deeply nested parentheses, deep
BODY[1.1.1...] sections and a deeply nested MIME message, invalid modified UTF-7 mailbox names,
100,000 pipelined commands on one connection, a client that asks for a lot and never reads, and
an unauthenticated client that sits past imapd_login_timeout. Each must end in a tagged BAD/NO
or a disconnect, never a crash: the imapd worker PIDs are the same afterwards, the master log
has no crash or restart line, the server's memory stays bounded, and a fresh session still
logs in and works. Whole suite on loopback; every read has a timeout."""
import os
import re
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import (RawImap, crash_lines, ensure_maildir, fill_maildir,  # noqa: E402
                          imap_suite, imaps, maildir_files, raw_imaps, rss_growth_bound_kib,
                          rss_kib)

kMaxRssGrowthKib = 64 * 1024   # a client that never reads may cost the server this much at most
kPipelined = 100000
kPipelineSeconds = 120


class Guard:
    """Snapshot of the IMAP server processes; check() fails if one died or was replaced, or if
    the log tells of a crash, and proves a fresh session still works."""

    def __init__(self, suite):
        self.suite = suite
        # Make sure the workers are up (they are pre-spawned; a login proves it).
        client = imaps(suite)
        client.logout()
        self.pids = set(suite.imapd_pids()) if suite.dovecot is None else set()
        assert suite.dovecot is not None or self.pids, "no imapd worker\n" + suite.log()
        self.dovecot_master = suite.dovecot.process.pid if suite.dovecot else None

    def check(self, what):
        if self.suite.dovecot is None:
            now = set(self.suite.imapd_pids())
            assert self.pids <= now, f"{what}: imapd {self.pids - now} gone\n" + \
                self.suite.log()[-5000:]
        else:
            assert self.suite.dovecot.process.poll() is None, f"{what}: dovecot died"
            assert not re.search(r"Panic|Fatal: (?!.*(Disconnected|timed out))",
                                 self.suite.dovecot.log()), self.suite.dovecot.log()[-3000:]
        lines = crash_lines(self.suite)
        assert not lines, f"{what}: crash in the log:\n" + "\n".join(lines)
        client = imaps(self.suite)
        typ, data = client.select("INBOX")
        assert typ == "OK", (what, typ, data)
        assert client.noop()[0] == "OK"
        client.logout()


def ends_bad_or_closed(conn, tag, timeout=10.0, allow=(b"BAD",)):
    """Reads until the tagged reply or EOF. Returns the tagged line, or None on disconnect.
    A continuation request ("+") for a literal that must be refused fails the test."""
    conn.settimeout(timeout)
    try:
        while True:
            text, _ = conn.read_line()
            assert not text.startswith(b"+"), f"server invited the literal: {text!r}"
            if text.startswith(tag + b" "):
                status = text.split()[1].upper()
                assert status in allow, f"expected {allow}: {text!r}"
                return text
            if text.startswith(b"* BYE"):
                continue
    except (ConnectionError, ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return None
    except socket.timeout:
        raise AssertionError(f"no answer to {tag!r} within {timeout}s")


def still_talks(conn):
    """The connection is still in step: a NOOP gets its OK (when the server kept it open)."""
    _, tagged = conn.command(b"NOOP")
    assert tagged.split()[1] == b"OK", tagged


def test_huge_literals():
    with imap_suite() as suite:
        guard = Guard(suite)
        # Before login: a LOGIN with an absurd synchronising literal must not be invited.
        conn = RawImap.connect_tls(suite)
        conn.send(b"a1 LOGIN {99999999999}\r\n")
        if ends_bad_or_closed(conn, b"a1", allow=(b"BAD", b"NO")) is not None:
            still_talks(conn)
        conn.close()
        # Larger than any integer the parser could hold.
        conn = RawImap.connect_tls(suite)
        conn.send(b"a2 LOGIN {99999999999999999999999999999999}\r\n")
        if ends_bad_or_closed(conn, b"a2", allow=(b"BAD", b"NO")) is not None:
            still_talks(conn)
        conn.close()
        # After login: APPEND over message_size_limit, a SELECT with a huge name literal.
        # (Dovecot, once logged in, invites such literals and refuses them afterwards; Postern
        # must refuse one over its limit before the "+", RFC 7888 section 4.)
        conn = raw_imaps(suite)
        if suite.dovecot is None:
            conn.send(b"a3 APPEND INBOX {99999999999}\r\n")
            if ends_bad_or_closed(conn, b"a3", allow=(b"BAD", b"NO")) is None:
                conn = raw_imaps(suite)
            conn.send(b"a4 SELECT {99999999}\r\n")
            if ends_bad_or_closed(conn, b"a4", allow=(b"BAD", b"NO")) is not None:
                still_talks(conn)
        conn.close()
        # Malformed literal markers: a BAD, and the connection stays in step.
        conn = raw_imaps(suite)
        markers = [b"SELECT {abc}", b"SELECT {-1}", b"SELECT {5", b"SELECT {1 2}", b"LOGIN {3}x"]
        if suite.dovecot is None:
            markers.append(b"SELECT {}")  # number = 1*DIGIT; Dovecot reads it as {0}
        for n, line in enumerate(markers):
            tag = b"m%d" % n
            conn.send(tag + b" " + line + b"\r\n")
            if ends_bad_or_closed(conn, tag, allow=(b"BAD", b"NO")) is None:
                conn = raw_imaps(suite)
            else:
                still_talks(conn)
        conn.close()
        guard.check("huge literals")


def test_literal_cut_short():
    with imap_suite() as suite:
        guard = Guard(suite)
        for login in (False, True):
            conn = raw_imaps(suite, login=login)
            command = b"a1 SELECT {10}\r\n" if login else b"a1 LOGIN {10}\r\n"
            conn.send(command)
            text, _ = conn.read_line()
            assert text.startswith(b"+"), text
            conn.send(b"abc")
            conn.close()
        # APPEND whose message stops half way: nothing may appear in the Maildir.
        before = len(maildir_files(suite, "demo"))
        conn = raw_imaps(suite)
        conn.send(b"a2 APPEND INBOX {1000}\r\n")
        text, _ = conn.read_line()
        assert text.startswith(b"+"), text
        conn.send(b"Subject: cut\r\n\r\n" + b"x" * 400)
        conn.close()
        # Same, with a non-synchronising literal.
        conn = raw_imaps(suite)
        conn.send(b"a3 APPEND INBOX {1000+}\r\nSubject: cut\r\n\r\n" + b"y" * 300)
        conn.close()
        guard.check("literal cut short")
        assert len(maildir_files(suite, "demo")) == before, maildir_files(suite, "demo")


def test_non_synchronising_literal_over_limit():
    with imap_suite() as suite:
        guard = Guard(suite)
        pid_rss = {pid: rss_kib(pid) for pid in suite.imapd_pids()}
        # A name literal over imapd_max_line_length (64 KiB), data sent right away.
        conn = raw_imaps(suite)
        size = 1024 * 1024
        try:
            conn.send(b"a1 SELECT {%d+}\r\n" % size + b"n" * size + b"\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        if ends_bad_or_closed(conn, b"a1", allow=(b"BAD", b"NO")) is not None:
            still_talks(conn)
        conn.close()
        # APPEND over message_size_limit (10 MB by default): 100 MB announced, 20 MB sent.
        conn = raw_imaps(suite)
        conn.settimeout(10)
        conn.send(b"a2 APPEND INBOX {100000000+}\r\n")
        sent = 0
        try:
            chunk = b"z" * 65536
            while sent < 20 * 1024 * 1024:
                conn.send(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout, OSError):
            pass
        try:
            conn.settimeout(5)
            text, _ = conn.read_line()
            while text.startswith(b"*") and not text.startswith(b"* BYE"):
                text, _ = conn.read_line()
            assert text.startswith(b"* BYE") or text.split()[1] in (b"NO", b"BAD"), text
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass
        conn.close()
        for pid, before in pid_rss.items():
            after = rss_kib(pid)
            assert after is None or after - before < rss_growth_bound_kib(kMaxRssGrowthKib), \
                (pid, before, after)
        guard.check("non-synchronising literal over the limit")
        assert not [p for p in maildir_files(suite, "demo") if os.path.getsize(p) > 1000000]


def test_unbalanced_parentheses():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 3)
        guard = Guard(suite)
        conn = raw_imaps(suite)
        _, tagged = conn.command(b"SELECT INBOX")
        assert tagged.split()[1] == b"OK", tagged
        cases = [b"FETCH 1 (FLAGS", b"FETCH 1 FLAGS)", b"FETCH 1 (FLAGS))", b"FETCH 1 ((FLAGS)",
                 b"SEARCH (OR SEEN", b"SEARCH OR SEEN)", b"STORE 1 +FLAGS (\\Seen",
                 b"STORE 1 +FLAGS \\Seen)", b"FETCH 1 BODY[HEADER.FIELDS (SUBJECT]",
                 b"FETCH 1 BODY[HEADER.FIELDS SUBJECT)]", b"FETCH 1 (BODY[TEXT]<0.10)",
                 b"LIST \"\" (", b"STATUS INBOX (MESSAGES", b"APPEND INBOX (\\Seen {3+}\r\nabc",
                 b"SEARCH \"unterminated", b")", b"(", b"FETCH 1 [", b"FETCH 1 ]"]
        for n, line in enumerate(cases):
            tag = b"u%d" % n
            conn.send(tag + b" " + line + b"\r\n")
            if ends_bad_or_closed(conn, tag) is None:
                conn = raw_imaps(suite)
                conn.command(b"SELECT INBOX")
            else:
                still_talks(conn)
        conn.close()
        guard.check("unbalanced parentheses")


def nested_message(depth):
    """A message whose body is multipart nested depth levels deep, innermost a text part."""
    head = "From: <alice@example.test>\nTo: <demo@example.test>\nSubject: nested\n" \
           "MIME-Version: 1.0\n"
    body = "Content-Type: text/plain\n\ninnermost\n"
    for level in range(depth):
        boundary = f"b{level}"
        body = (f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\n\n--{boundary}\n"
                f"{body}\n--{boundary}--\n")
    return (head + body).encode()


def test_deep_sections_and_nesting():
    with imap_suite() as suite:
        fill_maildir(suite, "demo", 1)
        fill_maildir(suite, "demo", 1, make=lambda i, to: nested_message(2000))
        guard = Guard(suite)
        conn = raw_imaps(suite)
        _, tagged = conn.command(b"SELECT INBOX")
        assert tagged.split()[1] == b"OK", tagged
        deep = b".".join([b"1"] * 5000)
        cases = [(b"FETCH 1 BODY[%s]" % deep, (b"BAD", b"NO", b"OK")),
                 (b"FETCH 1 BODY.PEEK[%s.MIME]" % deep, (b"BAD", b"NO", b"OK")),
                 (b"FETCH 2 BODY.PEEK[%s]" % deep[:3999], (b"BAD", b"NO", b"OK")),
                 (b"FETCH 2 (BODYSTRUCTURE)", (b"BAD", b"NO", b"OK")),
                 (b"FETCH 2 (BODY ENVELOPE)", (b"BAD", b"NO", b"OK")),
                 (b"FETCH 2 BINARY.PEEK[%s]" % deep[:3999], (b"BAD", b"NO", b"OK")),
                 (b"SEARCH BODY innermost", (b"BAD", b"NO", b"OK")),
                 (b"FETCH 1 BODY[99999999999999999999]", (b"BAD", b"NO", b"OK")),
                 (b"FETCH 1 (" + b"(" * 30000 + b"FLAGS" + b")" * 30000 + b")", (b"BAD",)),
                 # Postern's parser bounds nesting (ImapParserLimits::max_depth); Dovecot
                 # has no such limit and evaluates it.
                 (b"SEARCH " + b"(" * 30000 + b"ALL" + b")" * 30000,
                  (b"BAD", b"OK") if suite.dovecot else (b"BAD",)),
                 (b"SEARCH " + b"NOT " * 15000 + b"ALL", (b"BAD", b"NO", b"OK")),
                 (b"SEARCH " + b"OR ALL " * 8000 + b"ALL", (b"BAD", b"NO", b"OK"))]
        for n, (line, allowed) in enumerate(cases):
            tag = b"d%d" % n
            conn.send(tag + b" " + line + b"\r\n")
            if ends_bad_or_closed(conn, tag, timeout=30, allow=allowed) is None:
                conn = raw_imaps(suite)
                conn.command(b"SELECT INBOX")
            else:
                still_talks(conn)
        conn.close()
        guard.check("deep sections and nesting")


def test_invalid_modified_utf7_names():
    with imap_suite() as suite:
        guard = Guard(suite)
        conn = raw_imaps(suite)
        root = ensure_maildir(suite, "demo")
        before = set(os.listdir(root))
        names = [b'"&Jjo"', b'"&Jjo!-"', b'"&AGEAYgBj-"', b'"&-&"', b'"a&ZZZ"', b'"&2D0-"',
                 b'"&U,BTFw-&ZeVnLIqe-"', b'"\xc3\xa9t\xc3\xa9"', b'"&AC8-"',
                 b'"&;-"', b'"&&-"', b'"&ZZZ=-"', b'"x\x01y"', b'"&AGE-"', b'"&ZeVnLIqe"']
        for n, name in enumerate(names):
            for verb in (b"CREATE", b"SELECT", b"RENAME INBOX", b"SUBSCRIBE"):
                tag = b"v%d%s" % (n, verb[:2])
                conn.send(tag + b" " + verb + b" " + name + b"\r\n")
                if ends_bad_or_closed(conn, tag, allow=(b"BAD", b"NO")) is None:
                    conn = raw_imaps(suite)
                else:
                    still_talks(conn)
        conn.close()
        created = set(os.listdir(root)) - before
        assert not [c for c in created if c.startswith(".") and c != ".dovecot.lda-dupes"], \
            created
        with open(os.path.join(root, "subscriptions"), "rb") if os.path.exists(
                os.path.join(root, "subscriptions")) else open(os.devnull, "rb") as f:
            subscribed = f.read()
        assert b"&Jjo\n" not in subscribed and b"\xc3" not in subscribed, subscribed
        guard.check("invalid modified UTF-7")


def test_hundred_thousand_pipelined_commands():
    # Over plain TCP on loopback (imapd_loopback_plaintext_auth): a writer thread and a reader
    # share the connection, and one TLS connection (one OpenSSL object) must not be written and
    # read from two threads at once (CI once saw a false end of stream that way).
    dovecot = os.environ.get("POSTERN_IMAP_REFERENCE") == "dovecot"
    with imap_suite(main_cf_extra="imapd_loopback_plaintext_auth = yes\n") as suite:
        guard = Guard(suite)
        if dovecot:
            conn = raw_imaps(suite, timeout=30)
        else:
            conn = RawImap(socket.create_connection(("127.0.0.1", suite.imap_port), timeout=30),
                           30)
            conn.read_line()  # the greeting
            conn.login()
        payload = b"".join(b"p%d NOOP\r\n" % i for i in range(kPipelined))
        failure = []

        def writer():
            try:
                conn.sock.sendall(payload)
            except OSError as exc:  # reported below
                failure.append(exc)

        started = time.monotonic()
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        answered = 0
        expected = 0
        while expected < kPipelined:
            assert time.monotonic() - started < kPipelineSeconds, f"{answered} answers so far"
            text, _ = conn.read_line()
            if text.startswith(b"p"):
                tag, status = text.split()[:2]
                assert tag == b"p%d" % expected, (tag, expected)
                assert status == b"OK", text
                answered += 1
                expected += 1
        thread.join(30)
        assert not failure, failure
        still_talks(conn)
        elapsed = time.monotonic() - started
        print(f"{kPipelined} pipelined NOOPs answered in {elapsed:.1f}s")
        conn.close()
        guard.check("100,000 pipelined commands")


def test_client_that_never_reads():
    with imap_suite() as suite:
        big = ("x" * 76 + "\n") * 1300  # ~100 KB each
        fill_maildir(suite, "demo", 200, make=lambda i, to: (
            f"From: <alice@example.test>\nTo: <{to}>\nSubject: big {i}\n\n{big}").encode())
        guard = Guard(suite)
        pids = suite.imapd_pids() if suite.dovecot is None else []
        raw = socket.create_connection(("127.0.0.1", suite.imaps_port), timeout=20)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn = RawImap(_tls(raw), 20)
        conn.read_line()
        conn.login()
        _, tagged = conn.command(b"SELECT INBOX")
        assert tagged.split()[1] == b"OK", tagged
        if suite.dovecot is not None:
            pids = [max(suite.imapd_pids())]  # the newest imap process is this session's
        baseline = {pid: rss_kib(pid) for pid in pids}
        # Ask for 200 x 100 KB, 50 times over (1 GB of answers), and never read.
        conn.settimeout(5)
        sent = 0
        started = time.monotonic()
        try:
            for i in range(50):
                conn.send(b"r%d FETCH 1:* BODY.PEEK[]\r\n" % i)
                sent += 1
        except (socket.timeout, OSError):
            pass
        peak = dict(baseline)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            for pid in pids:
                now = rss_kib(pid)
                assert now is not None, f"imapd {pid} died\n" + suite.log()[-3000:]
                peak[pid] = max(peak[pid], now)
            time.sleep(0.1)  # sampling memory while nothing is read: no condition to poll
        for pid in pids:
            growth = peak[pid] - baseline[pid]
            print(f"imapd {pid}: RSS {baseline[pid]} KiB before, peak {peak[pid]} KiB "
                  f"({sent} FETCH commands sent in {time.monotonic() - started:.1f}s)")
            assert growth < rss_growth_bound_kib(kMaxRssGrowthKib), \
                (pid, baseline[pid], peak[pid])
        # Other clients are still served while that one blocks.
        other = imaps(suite)
        assert other.select("INBOX")[0] == "OK"
        assert other.fetch("1", "(FLAGS)")[0] == "OK"
        other.logout()
        conn.close()
        guard.check("a client that never reads")


def _tls(raw):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(raw)


def test_login_timeout():
    if os.environ.get("POSTERN_IMAP_REFERENCE") == "dovecot":
        print("skipped under the Dovecot reference (its login timeout is fixed at 3 minutes)")
        return
    with imap_suite(main_cf_extra="imapd_login_timeout = 2s\n") as suite:
        guard = Guard(suite)
        for starttls in (False, True):
            # Timed from before the connect: the server's clock starts at accept, and a slow
            # TLS handshake (ASan, a busy machine) must not count against the lower bound.
            started = time.monotonic()
            raw = socket.create_connection(("127.0.0.1", suite.imap_port if starttls
                                            else suite.imaps_port), timeout=20)
            conn = RawImap(raw if starttls else _tls(raw), 20)
            conn.read_line()
            closed_after = None
            try:
                while True:
                    text, _ = conn.read_line()
                    assert text.startswith(b"* BYE"), text
            except (ConnectionError, ssl.SSLError, OSError):
                closed_after = time.monotonic() - started
            assert closed_after is not None and 1.5 <= closed_after < 10, closed_after
            conn.close()
        # A logged-in session is not cut by the login timeout.
        client = imaps(suite)
        client.select("INBOX")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            time.sleep(0.5)  # time must pass for a timeout to (not) fire
            assert client.noop()[0] == "OK"
        client.logout()
        guard.check("login timeout")


if __name__ == "__main__":
    postern_harness.run_tests([test_huge_literals, test_literal_cut_short,
                               test_non_synchronising_literal_over_limit,
                               test_unbalanced_parentheses, test_deep_sections_and_nesting,
                               test_invalid_modified_utf7_names,
                               test_hundred_thousand_pipelined_commands,
                               test_client_that_never_reads, test_login_timeout])
