"""smtpd message transfer: 100 messages pipelined in one write, a 10 MB message, a byte-exact
round trip of dot-stuffed lines, BDAT (CHUNKING) including chunks that split CRLF and
"BDAT 0 LAST", and SMTP smuggling: bare LF / bare CR in DATA refused with nothing delivered.
Runs the whole suite on loopback in a temporary directory."""
import os
import random
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postern_harness  # noqa: E402
from postern_harness import Suite  # noqa: E402
from smtpd_wire import Wire, incoming_entries, maildir_body, wait_queue_empty  # noqa: E402


def test_hundred_messages_pipelined():
    count = 100
    with Suite() as suite:
        with Wire(suite.smtp_port, timeout=60) as wire:
            parts = ["EHLO pipeline.example.net\r\n"]
            for i in range(count):
                parts.append(f"MAIL FROM:<s{i}@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
                             f"DATA\r\nSubject: pipelined {i}\r\n\r\nmessage number {i}\r\n.\r\n")
            parts.append("QUIT\r\n")
            wire.send("".join(parts))
            wire.expect(220)
            wire.expect(250)  # EHLO
            queued = []
            for i in range(count):
                wire.expect(250, "2.1.0")
                wire.expect(250, "2.1.5")
                wire.expect(354)
                queued.append(wire.expect(250, "queued as").split()[-1])
            wire.expect(221)
        assert len(set(queued)) == count
        paths = suite.wait_for_mail("alice@example.test", count, timeout=60)
        assert len(paths) == count
        subjects = set()
        for path in paths:
            body, _ = maildir_body(path)
            subjects.add(body.split(b"\n", 1)[0])
        assert subjects == {f"Subject: pipelined {i}".encode() for i in range(count)}


def test_ten_megabyte_message():
    with Suite() as suite:
        rng = random.Random(7)
        lines = []
        size = 0
        while size < 10_000_000:
            line = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz .") for _ in range(rng.randint(0, 998)))
            lines.append(line)
            size += len(line) + 2
        body = ("Subject: big\r\n\r\n" + "\r\n".join(lines) + "\r\n").encode()
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=60) as client:
            client.ehlo("big.example.net")
            client.sendmail("big@remote.test", ["bob@example.test"], body)
        [path] = suite.wait_for_mail("bob@example.test", 1, timeout=60)
        got, _ = maildir_body(path)
        assert got == body.replace(b"\r\n", b"\n")


def test_dot_lines_round_trip_byte_exact():
    lines = [b".", b"..", b"...", b".x", b"..x", b". leading dot and space", b"x.", b"",
             b".\t", b"a . b", b"." * 50, b"..\xc3\xa9"]
    body = b"Subject: dots\r\n\r\n" + b"\r\n".join(lines * 20) + b"\r\n"
    stuffed = b"\r\n".join(b"." + line if line.startswith(b".") else line
                           for line in body.split(b"\r\n"))
    with Suite() as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.command("MAIL FROM:<dots@remote.test> BODY=8BITMIME", 250)
            wire.command("RCPT TO:<demo@example.test>", 250)
            wire.command("DATA", 354)
            # Byte by byte for the first part, then the rest at once.
            payload = stuffed + b".\r\n"
            for i in range(200):
                wire.send(payload[i:i + 1])
            wire.send(payload[200:])
            wire.expect(250, "queued as")
        # smtplib stuffs dots itself: the same body must come out the same.
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
            client.ehlo("dots.example.net")
            client.sendmail("dots@remote.test", ["demo@example.test"], body)
        paths = suite.wait_for_mail("demo@example.test", 2)
        for path in paths:
            got, _ = maildir_body(path)
            assert got == body.replace(b"\r\n", b"\n"), got[:400]


def bdat_session(port, commands_and_chunks):
    """Sends EHLO/MAIL/RCPT, then every (BDAT line, bytes) pair in one write; returns replies."""
    with Wire(port) as wire:
        wire.greet()
        wire.command("MAIL FROM:<chunks@remote.test>", 250)
        wire.command("RCPT TO:<bob@example.test>", 250)
        wire.send(b"".join(line + b"\r\n" + chunk for line, chunk in commands_and_chunks))
        replies = [wire.reply() for _ in commands_and_chunks]
        wire.command("QUIT", 221)
        return replies


def test_bdat_chunks():
    message = (b"Subject: chunked\r\n\r\n.starts with a dot\r\n..two dots\r\nlast line\r\n")
    with Suite() as suite:
        # Chunks that split the CRLF pairs, then an empty LAST chunk.
        pieces = [message[:19], message[19:21], message[21:40], message[40:]]
        assert pieces[0].endswith(b"\r") and pieces[1].startswith(b"\n")
        steps = [(b"BDAT %d" % len(p), p) for p in pieces] + [(b"BDAT 0 LAST", b"")]
        replies = bdat_session(suite.smtp_port, steps)
        for (code, text), piece in zip(replies[:-1], pieces):
            assert code == 250 and text[0] == f"2.0.0 Ok: {len(piece)} bytes", (code, text)
        assert replies[-1][0] == 250 and "queued as" in replies[-1][1][0], replies[-1]
        # One chunk with LAST, pipelined after the MAIL and RCPT replies.
        replies = bdat_session(suite.smtp_port, [(b"BDAT %d LAST" % len(message), message)])
        assert replies[0][0] == 250 and "queued as" in replies[0][1][0]
        paths = suite.wait_for_mail("bob@example.test", 2)
        for path in paths:
            got, fields = maildir_body(path)
            # BDAT carries the message as it is: no dot-unstuffing.
            assert got == message.replace(b"\r\n", b"\n"), got
            assert " with ESMTP id " in fields["Received"]


def test_bdat_out_of_order_consumes_the_chunk():
    with Suite() as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            # No MAIL yet: refused, but the 12 bytes are still read as data, not as commands.
            wire.send(b"BDAT 12 LAST\r\nQUIT\r\nQUIT\r\nNOOP\r\n")
            wire.expect(503)
            wire.expect(250)  # the NOOP, not the QUITs
            wire.command("MAIL FROM:<a@remote.test>", 250)
            wire.command("RCPT TO:<bob@example.test>", 250)
            wire.send("BDAT 5\r\nhello")
            wire.expect(250, "5 bytes")
            wire.send("DATA\r\n")
            wire.expect(503)  # DATA after BDAT
            wire.command("BDAT x", 501)
            assert wire.closed_by_peer()


def smuggle(suite, data, expected_text):
    with Wire(suite.smtp_port) as wire:
        wire.greet()
        wire.command("MAIL FROM:<smuggler@remote.test>", 250)
        wire.command("RCPT TO:<demo@example.test>", 250)
        wire.command("DATA", 354)
        wire.send(data)
        wire.expect(521, expected_text)
        assert wire.closed_by_peer()


def test_bare_lf_and_cr_refused():
    with Suite() as suite:
        smuggle(suite, b"Subject: lf\r\n\r\nline\nmore\r\n.\r\n", "Error: bare <LF> received")
        # The classic smuggling end, with a second message behind it.
        smuggle(suite, b"Subject: x\r\n\r\nhi\r\n.\nMAIL FROM:<evil@remote.test>\r\n"
                       b"RCPT TO:<demo@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\n.\r\n",
                "bare <LF>")
        smuggle(suite, b"Subject: cr\r\n\r\nline\rmore\r\n.\r\n", "Error: bare <CR> received")
        smuggle(suite, b"Subject: cr\r\n\r\nhi\r\n.\r.\r\n", "bare <CR>")
        # Nothing of the above was queued; a proper message still goes through, and alone.
        assert [n for n in incoming_entries(suite)] == []
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
            client.sendmail("ok@remote.test", ["demo@example.test"], b"Subject: fine\r\n\r\nok\r\n")
        [path] = suite.wait_for_mail("demo@example.test", 1)
        wait_queue_empty(suite)
        assert len(suite.messages("demo@example.test")) == 1
        assert b"Subject: fine" in maildir_body(path)[0]


def test_bare_newlines_allowed_when_configured():
    with Suite(main_cf_extra="smtpd_forbid_bare_newline = no") as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.command("MAIL FROM:<old@remote.test>", 250)
            wire.command("RCPT TO:<demo@example.test>", 250)
            wire.command("DATA", 354)
            # A bare LF is data, and never part of the end: ".\n" does not end the message (its
            # dot, at the start of a line, is taken as stuffing like any other).
            wire.send(b"Subject: old\r\n\r\na\nb\r\n.\nstill data\r\n.\r\n")
            wire.expect(250, "queued as")
        [path] = suite.wait_for_mail("demo@example.test", 1)
        body, _ = maildir_body(path)
        assert body == b"Subject: old\n\na\nb\n\nstill data\n", body


if __name__ == "__main__":
    postern_harness.run_tests([
        test_hundred_messages_pipelined,
        test_ten_megabyte_message,
        test_dot_lines_round_trip_byte_exact,
        test_bdat_chunks,
        test_bdat_out_of_order_consumes_the_chunk,
        test_bare_lf_and_cr_refused,
        test_bare_newlines_allowed_when_configured,
    ])
