"""postern-imapd's session, on loopback with the whole suite: the greeting and CAPABILITY before
and after TLS and login (STARTTLS LOGINDISABLED on the plain port, AUTH=PLAIN inside TLS, the full
list after login), STARTTLS then LOGIN, implicit TLS (993 style), AUTHENTICATE PLAIN with and
without SASL-IR and cancelled, a wrong password, ID, ENABLE, NAMESPACE, COMPRESS=DEFLATE over a
raw socket with zlib, IDLE mechanics, the command reader's limits as the client sees them (huge
and oversized literals, unbalanced parentheses, 20 BADs in a row), 100,000 pipelined NOOPs, a
client that never reads (RSS stays bounded), and the graceful stop on SIGTERM. Every read has a
timeout; every wait is bounded."""
import base64
import os
import signal
import socket
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import (PASSWORD, RawImap, address, check_ok, crash_lines, deliver,  # noqa: E402
                          imap_starttls, imap_suite, imaps, rss_growth_bound_kib, rss_kib)
from postern_harness import wait_until  # noqa: E402


def plain_ir(user="demo", password=PASSWORD):
    return base64.b64encode(f"\0{address(user)}\0{password}".encode())


def plain_connection(suite, timeout=20.0):
    sock = socket.create_connection(("127.0.0.1", suite.imap_port), timeout=timeout)
    conn = RawImap(sock, timeout)
    conn.greeting = conn.read_line()[0]
    return conn


def test_capabilities_starttls_and_login():
    with imap_suite() as suite:
        with plain_connection(suite) as conn:
            assert conn.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 "), conn.greeting
            assert b" STARTTLS" in conn.greeting and b" LOGINDISABLED" in conn.greeting
            assert b"AUTH=" not in conn.greeting
            _, tagged = conn.command(b'LOGIN demo "' + PASSWORD.encode() + b'"')
            assert b"NO [PRIVACYREQUIRED]" in tagged, tagged
            _, tagged = conn.command(b"AUTHENTICATE PLAIN " + plain_ir())
            assert b"NO [PRIVACYREQUIRED]" in tagged, tagged
            _, tagged = conn.command(b"SELECT INBOX")
            assert tagged.split()[1] == b"BAD", tagged
        client = imap_starttls(suite, login=False)
        caps = check_ok(client.capability())[0].split()
        assert b"AUTH=PLAIN" in caps and b"LOGINDISABLED" not in caps and b"STARTTLS" not in caps
        typ, data = client.login("demo", PASSWORD)  # smtpd_sasl_local_domain adds the domain
        assert typ == "OK" and b"[CAPABILITY " in data[0], data
        caps = check_ok(client.capability())[0].split()
        for cap in (b"COMPRESS=DEFLATE", b"QRESYNC", b"CONDSTORE", b"IDLE", b"UIDPLUS", b"MOVE",
                    b"SPECIAL-USE", b"LITERAL+", b"ENABLE", b"ID", b"NAMESPACE", b"ESEARCH"):
            assert cap in caps, caps
        assert b"AUTH=PLAIN" not in caps and b"IMAP4rev2" not in caps
        client.logout()
        # Implicit TLS: AUTH=PLAIN at once.
        with RawImap.connect_tls(suite) as conn:
            assert b"AUTH=PLAIN" in conn.greeting and b"STARTTLS" not in conn.greeting
            _, tagged = conn.command(b"LOGIN {4+}\r\ndemo {%d+}\r\n%s" %
                                     (len(PASSWORD), PASSWORD.encode()))
            assert tagged.split()[1] == b"OK", tagged
            _, tagged = conn.command(b"LOGIN demo x")
            assert tagged.split()[1] == b"BAD", tagged  # already logged in
        assert crash_lines(suite) == [], crash_lines(suite)


def test_authenticate_plain():
    with imap_suite() as suite:
        with RawImap.connect_tls(suite) as conn:  # SASL-IR
            _, tagged = conn.command(b"AUTHENTICATE PLAIN " + plain_ir("alice"))
            assert tagged.split()[1] == b"OK" and b"[CAPABILITY" in tagged, tagged
        with RawImap.connect_tls(suite) as conn:  # the continuation exchange
            conn.send(b"a1 AUTHENTICATE PLAIN\r\n")
            assert conn.read_line()[0].rstrip() == b"+", "expected an empty challenge"
            conn.send(plain_ir("bob") + b"\r\n")
            _, tagged = conn.read_until_tagged(b"a1")
            assert tagged.startswith(b"a1 OK"), tagged
        with RawImap.connect_tls(suite) as conn:  # cancelled
            conn.send(b"a1 AUTHENTICATE PLAIN\r\n")
            assert conn.read_line()[0].startswith(b"+")
            conn.send(b"*\r\n")
            _, tagged = conn.read_until_tagged(b"a1")
            assert tagged.startswith(b"a1 BAD"), tagged
            _, tagged = conn.command(b"AUTHENTICATE PLAIN =")
            assert tagged.split()[1] == b"NO", tagged
            _, tagged = conn.command(b"AUTHENTICATE PLAIN " + plain_ir("demo", "wrong"))
            assert b"NO [AUTHENTICATIONFAILED]" in tagged, tagged
            _, tagged = conn.command(b"AUTHENTICATE CRAM-MD5")
            assert tagged.split()[1] == b"NO", tagged
        log = suite.log()
        assert "Login: user=<alice@example.test>, method=PLAIN" in log, log
        assert "wrong" not in log  # never the password


def test_id_enable_namespace():
    with imap_suite() as suite:
        with RawImap.connect_tls(suite) as conn:
            untagged, tagged = conn.command(b'ID ("name" "test-client" "version" "1")')
            assert tagged.split()[1] == b"OK", tagged
            assert any(line[0].startswith(b'* ID ("name" "Postern"') for line in untagged), untagged
            _, tagged = conn.command(b"ID NIL")
            assert tagged.split()[1] == b"OK"
            _, tagged = conn.command(b'ID ("name")')
            assert tagged.split()[1] == b"BAD"
            _, tagged = conn.command(b"ID (" + b'"k" "v" ' * 31 + b")")
            assert tagged.split()[1] == b"BAD"
            _, tagged = conn.command(b"ENABLE QRESYNC")
            assert tagged.split()[1] == b"BAD"  # not before login
            assert conn.login().split()[1] == b"OK"
            untagged, tagged = conn.command(b"ENABLE QRESYNC UTF8=ACCEPT")
            assert tagged.split()[1] == b"OK", tagged
            assert [u[0] for u in untagged] == [b"* ENABLED QRESYNC"], untagged
            untagged, _ = conn.command(b"ENABLE CONDSTORE")  # implied by QRESYNC already
            assert [u[0] for u in untagged] == [b"* ENABLED"], untagged
            untagged, tagged = conn.command(b"NAMESPACE")
            assert [u[0] for u in untagged] == [b'* NAMESPACE (("" ".")) NIL NIL'], untagged
        log = suite.log()
        assert "ID sent: name=test-client, version=1" in log, log


class DeflateImap:
    """A raw TLS connection after COMPRESS DEFLATE: raw deflate both ways."""

    def __init__(self, conn):
        self.conn = conn
        self.compress = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.decompress = zlib.decompressobj(-15)
        self.text = b""

    def send(self, data):
        self.conn.sock.sendall(self.compress.compress(data) + self.compress.flush(zlib.Z_SYNC_FLUSH))

    def read_until_tagged(self, tag):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lines = self.text.split(b"\r\n")
            for i, line in enumerate(lines[:-1]):
                if line.startswith(tag + b" "):
                    self.text = b"\r\n".join(lines[i + 1:])
                    return lines[:i], line
            data = self.conn.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.text += self.decompress.decompress(data)
        raise TimeoutError(tag)


def test_compress_deflate():
    with imap_suite() as suite:
        with RawImap.connect_tls(suite) as conn:
            _, tagged = conn.command(b"COMPRESS DEFLATE")
            assert tagged.split()[1] == b"BAD", tagged  # not before login
            conn.login()
            _, tagged = conn.command(b"COMPRESS LZ4")
            assert tagged.split()[1] == b"NO", tagged
            _, tagged = conn.command(b"COMPRESS DEFLATE", tag=b"c1")
            assert tagged == b"c1 OK DEFLATE active.", tagged
            z = DeflateImap(conn)
            z.send(b"c2 CAPABILITY\r\n")
            untagged, tagged = z.read_until_tagged(b"c2")
            assert tagged.startswith(b"c2 OK"), tagged
            assert b"COMPRESS=DEFLATE" not in untagged[0] and b"QRESYNC" in untagged[0]
            z.send(b"c3 COMPRESS DEFLATE\r\n")
            _, tagged = z.read_until_tagged(b"c3")
            assert b"NO [COMPRESSIONACTIVE]" in tagged, tagged
            # Many commands in one compressed burst, and a big answer (LIST) back.
            z.send(b"".join(b"n%d NOOP\r\n" % i for i in range(2000)))
            _, tagged = z.read_until_tagged(b"n1999")
            assert tagged.startswith(b"n1999 OK")
            z.send(b"c4 LOGOUT\r\n")
            untagged, tagged = z.read_until_tagged(b"c4")
            assert untagged == [b"* BYE Logging out"] and tagged.startswith(b"c4 OK"), untagged
        assert crash_lines(suite) == []


def test_idle_mechanics():
    with imap_suite() as suite:
        with RawImap.connect_tls(suite) as conn:
            conn.login()
            conn.send(b"i1 IDLE\r\n")
            assert conn.read_line()[0] == b"+ idling"
            conn.send(b"DONE\r\n")
            _, tagged = conn.read_until_tagged(b"i1")
            assert tagged.startswith(b"i1 OK"), tagged
            conn.send(b"i2 IDLE\r\n")
            assert conn.read_line()[0] == b"+ idling"
            conn.send(b"NOT-DONE\r\n")
            _, tagged = conn.read_until_tagged(b"i2")
            assert tagged.startswith(b"i2 BAD"), tagged
            _, tagged = conn.command(b"NOOP")
            assert tagged.split()[1] == b"OK"
            # In a selected folder, a delivery through smtpd wakes the IDLE up.
            _, tagged = conn.command(b"SELECT INBOX")
            assert tagged.split()[1] == b"OK", tagged
            conn.send(b"i3 IDLE\r\n")
            assert conn.read_line()[0] == b"+ idling"
            deliver(suite, "demo", "wakes the idle", wait=False)
            conn.settimeout(10)
            assert conn.read_line()[0] == b"* 1 EXISTS"
            conn.send(b"DONE\r\n")
            _, tagged = conn.read_until_tagged(b"i3")
            assert tagged.startswith(b"i3 OK"), tagged


def test_reader_limits_as_the_client_sees_them():
    with imap_suite("imapd_max_line_length = 2048\n") as suite:
        with RawImap.connect_tls(suite) as conn:
            conn.login()
            # A synchronising literal over the limit: BAD at once, no "+".
            conn.send(b"a1 LOGIN {999999999999}\r\n")
            line = conn.read_line()[0]
            assert line.startswith(b"a1 BAD [TOOBIG]"), line
            # Over the limit but non-synchronising and small enough: skipped, then BAD.
            conn.send(b"a2 X {3000+}\r\n" + b"(" * 3000 + b" {3+}\r\n)))\r\n")
            line = conn.read_line()[0]
            assert line.startswith(b"a2 BAD"), line
            _, tagged = conn.command(b"NOOP")
            assert tagged.split()[1] == b"OK", tagged
            for cmd in (b"SELECT (INBOX", b"SELECT INBOX)", b"FETCH 1 (BODY[HEADER", b'LOGIN "x'):
                _, tagged = conn.command(cmd)
                assert tagged.split()[1] == b"BAD", (cmd, tagged)
            conn.send(b"a3 NOOP " + b"x" * 3000 + b"\r\n")
            assert conn.read_line()[0] == b"a3 BAD Line too long"
            # APPEND may be as large as message_size_limit once logged in.
            conn.send(b"a4 APPEND INBOX {5000}\r\n")
            assert conn.read_line()[0].startswith(b"+ ")
            conn.send(b"x" * 5000 + b"\r\n")
            _, tagged = conn.read_until_tagged(b"a4")
            assert tagged.split()[1] in (b"OK", b"NO"), tagged
        with RawImap.connect_tls(suite) as conn:  # APPEND before login: the line limit only
            conn.send(b"b1 APPEND INBOX {5000}\r\n")
            assert conn.read_line()[0].startswith(b"b1 BAD [TOOBIG]")
            # A non-synchronising literal too large to skip: BYE and close.
            conn.send(b"b2 APPEND INBOX {99999999999+}\r\n")
            assert conn.read_line()[0].startswith(b"* BYE")
        with RawImap.connect_tls(suite) as conn:  # 20 BADs in a row
            conn.send(b"".join(b"z%d )\r\n" % i for i in range(25)))
            lines = []
            try:
                while True:
                    lines.append(conn.read_line()[0])
            except ConnectionError:
                pass
            assert len(lines) == 21 and lines[-1] == b"* BYE Too many invalid commands.", lines
        assert crash_lines(suite) == []


def test_many_commands_and_a_client_that_never_reads():
    with imap_suite() as suite:
        with RawImap.connect_tls(suite, timeout=60) as conn:
            conn.login()
            n = 100000
            conn.send(b"".join(b"p%d NOOP\r\n" % i for i in range(n)))
            seen = 0
            while True:
                line = conn.read_line()[0]
                if line.startswith(b"p"):
                    seen += 1
                    assert line.split()[1] == b"OK", line
                    if line.startswith(b"p%d " % (n - 1)):
                        break
            assert seen == n
        # Per process: the imaps process has just served the NOOPs (under ASan its freed memory
        # sits in the allocator's quarantine), the imap one has not.
        before = {p: rss_kib(p) or 0 for p in suite.imapd_pids()}
        # Never reads: CAPABILITY answers pile up until the server stops reading.
        sock = socket.create_connection(("127.0.0.1", suite.imaps_port), timeout=10)
        from imap_support import client_context
        tls = client_context(suite).wrap_socket(sock)
        tls.setblocking(False)
        burst = b"".join(b"c%d CAPABILITY\r\n" % i for i in range(20000))
        sent, deadline = 0, time.monotonic() + 20
        while time.monotonic() < deadline and sent < 40 * len(burst):
            try:
                sent += tls.send(burst)
            except (ssl_want_write_errors()):
                time.sleep(0.05)
        grown = {p: (rss_kib(p) or 0) - before.get(p, 0) for p in suite.imapd_pids()}
        assert all(growth < rss_growth_bound_kib(64 * 1024) for growth in grown.values()), \
            (before, grown, sent)
        # The server serves others meanwhile.
        other = imaps(suite)
        check_ok(other.noop())
        other.logout()
        tls.close()
        assert crash_lines(suite) == []


def ssl_want_write_errors():
    import ssl
    return (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError)


def test_login_timeout_and_graceful_stop():
    with imap_suite("imapd_login_timeout = 1s\n") as suite:
        with plain_connection(suite) as conn:
            started = time.monotonic()
            line = conn.read_line()[0]
            assert line.startswith(b"* BYE"), line
            assert time.monotonic() - started < 10
        with RawImap.connect_tls(suite) as conn:
            conn.login()
            suite.kill_worker("imapd", signal.SIGTERM)
            line = conn.read_line()[0]
            assert line == b"* BYE Server shutting down", line


if __name__ == "__main__":
    postern_harness.run_tests([
        test_capabilities_starttls_and_login,
        test_authenticate_plain,
        test_id_enable_namespace,
        test_compress_deflate,
        test_idle_mechanics,
        test_reader_limits_as_the_client_sees_them,
        test_many_commands_and_a_client_that_never_reads,
        test_login_timeout_and_graceful_stop,
    ])
