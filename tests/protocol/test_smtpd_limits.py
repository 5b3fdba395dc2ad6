"""smtpd limits, each at N (accepted) and N+1 (refused): message_size_limit (552, nothing
queued; also SIZE= at MAIL), smtpd_recipient_limit (452), line_length_limit (500, then the
session goes on), the soft/hard error limits (421), smtpd_timeout (421 4.4.2, also inside DATA)
and smtpd_client_connection_count_limit (421 per client address). Whole suite on loopback."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postern_harness  # noqa: E402
from postern_harness import Suite, wait_until  # noqa: E402
from smtpd_wire import Wire, incoming_entries, maildir_body, wait_queue_empty  # noqa: E402


def message_of_size(total):
    """A message whose DATA bytes (dot-stuffing removed, CRLF line ends) are exactly total."""
    head = b"Subject: sized\r\n\r\n"
    filler = total - len(head) - 2
    assert filler >= 0
    return head + b"x" * filler + b"\r\n"


def send_data(wire, message):
    wire.command("MAIL FROM:<sized@remote.test>", 250)
    wire.command("RCPT TO:<demo@example.test>", 250)
    wire.command("DATA", 354)
    wire.send(message + b".\r\n")
    return wire.reply()


def test_message_size_limit():
    with Suite(main_cf_extra="message_size_limit = 2000") as suite:
        with Wire(suite.smtp_port) as wire:
            ehlo = wire.greet()
            assert "SIZE 2000" in ehlo
            code, text = send_data(wire, message_of_size(2001))
            assert (code, text) == (552, ["5.3.4 Message size exceeds fixed limit"]), (code, text)
            assert incoming_entries(suite) == []
            # Far over the limit: still read to the end, nothing kept, the session goes on.
            code, _ = send_data(wire, message_of_size(300_000))
            assert code == 552
            assert incoming_entries(suite) == []
            code, text = send_data(wire, message_of_size(2000))
            assert code == 250 and "queued as" in text[0], (code, text)
            # SIZE= at MAIL FROM: N accepted, N+1 refused.
            wire.command("MAIL FROM:<a@remote.test> SIZE=2001", 552, "5.3.4")
            wire.command("MAIL FROM:<a@remote.test> SIZE=2000", 250)
            wire.command("QUIT", 221)
        [path] = suite.wait_for_mail("demo@example.test", 1)
        wait_queue_empty(suite)
        assert len(suite.messages("demo@example.test")) == 1
        body, _ = maildir_body(path)
        assert body == message_of_size(2000).replace(b"\r\n", b"\n")


def test_recipient_limit():
    with Suite(main_cf_extra="smtpd_recipient_limit = 3") as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.command("MAIL FROM:<many@remote.test>", 250)
            for user in ("demo", "alice", "bob"):
                wire.command(f"RCPT TO:<{user}@example.test>", 250)
            wire.command("RCPT TO:<info@example.test>", 452, "4.5.3 Error: too many recipients")
            wire.command("DATA", 354)
            wire.send("Subject: three\r\n\r\nhi\r\n.\r\n")
            wire.expect(250, "queued as")
        for user in ("demo", "alice", "bob"):
            suite.wait_for_mail(f"{user}@example.test", 1)


def test_command_line_length_limit():
    with Suite(main_cf_extra="line_length_limit = 512") as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            at_limit = "NOOP " + "x" * (512 - 5)
            wire.command(at_limit, 250)
            wire.command(at_limit + "x", 500, "5.5.2 Error: line too long")
            # A huge line without an end: answered once the limit is passed, then discarded up
            # to its end while it streams in; the session goes on.
            wire.send("NOOP " + "y" * 200_000)
            wire.expect(500, "line too long")
            wire.send("y" * 200_000 + "\r\n")
            wire.command("NOOP", 250)
            wire.command("MAIL FROM:<a@remote.test>", 250)
            wire.command("RCPT TO:<demo@example.test>", 250)
            wire.command("DATA", 354)
            # DATA lines are not command lines: a 100 kB line is fine.
            wire.send(b"Subject: long line\r\n\r\n" + b"z" * 100_000 + b"\r\n.\r\n")
            wire.expect(250, "queued as")
        [path] = suite.wait_for_mail("demo@example.test", 1)
        assert maildir_body(path)[0] == b"Subject: long line\n\n" + b"z" * 100_000 + b"\n"


def test_error_limits():
    extra = "smtpd_soft_error_limit = 2\nsmtpd_hard_error_limit = 4\nsmtpd_error_sleep_time = 0"
    with Suite(main_cf_extra=extra) as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            for _ in range(3):
                wire.command("BOGUS", 500)
            wire.command("NOOP", 250)  # three errors: still served
            wire.send("BOGUS\r\n")
            wire.expect(500)
            wire.expect(421, "4.7.0 mx.example.test Error: too many errors")
            assert wire.closed_by_peer()
    # With the error sleep on, errors past the soft limit slow the client down.
    extra = "smtpd_soft_error_limit = 1\nsmtpd_hard_error_limit = 5\nsmtpd_error_sleep_time = 1s"
    with Suite(main_cf_extra=extra) as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            started = time.monotonic()
            wire.send("BOGUS\r\nBOGUS\r\nNOOP\r\n")
            wire.expect(500)
            wire.expect(500)
            wire.expect(250)
            assert time.monotonic() - started >= 1.5


def test_timeouts():
    with Suite(main_cf_extra="smtpd_timeout = 2s") as suite:
        started = time.monotonic()  # before the connect: a late greeting must not count
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.sock.settimeout(15)
            wire.expect(421, "4.4.2 mx.example.test Error: timeout exceeded")
            assert 1.5 <= time.monotonic() - started < 10
            assert wire.closed_by_peer()
        # Inside DATA: the half-sent message is dropped.
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.command("MAIL FROM:<slow@remote.test>", 250)
            wire.command("RCPT TO:<demo@example.test>", 250)
            wire.command("DATA", 354)
            wire.send("Subject: never finished\r\n\r\nhalf")
            wire.sock.settimeout(15)
            wire.expect(421, "4.4.2")
            assert wire.closed_by_peer()
        assert incoming_entries(suite) == []
        assert "timeout after DATA from unknown[127.0.0.1]" in suite.log()


def test_connection_count_limit():
    with Suite(main_cf_extra="smtpd_client_connection_count_limit = 3") as suite:
        # The harness's readiness probe is a connection too: wait until smtpd has seen it go
        # (smtpd's lines only: the probes of the submission ports are logged too).
        def all_disconnected():
            log = "\n".join(line for line in suite.log().splitlines() if "postern/smtpd[" in line)
            connects = log.count(": connect from unknown")
            return connects >= 1 and connects == log.count(": disconnect from unknown")
        wait_until(all_disconnected, 10, 0.05, "the readiness probe to disconnect")
        open_wires = [Wire(suite.smtp_port) for _ in range(3)]
        try:
            for wire in open_wires:
                wire.expect(220)
            with Wire(suite.smtp_port) as refused:
                refused.expect(421, "4.7.0 mx.example.test Error: too many connections from "
                                    "127.0.0.1")
                assert refused.closed_by_peer()
            open_wires[0].command("QUIT", 221)
            assert open_wires[0].closed_by_peer()
            open_wires.pop(0).close()

            def accepted_again():
                with Wire(suite.smtp_port) as wire:
                    code, _ = wire.reply()
                    return code == 220
            wait_until(accepted_again, 10, 0.1, "a connection slot to free up")
            for wire in open_wires:
                wire.command("NOOP", 250)
        finally:
            for wire in open_wires:
                wire.close()


if __name__ == "__main__":
    postern_harness.run_tests([
        test_message_size_limit,
        test_recipient_limit,
        test_command_line_length_limit,
        test_error_limits,
        test_timeouts,
        test_connection_count_limit,
    ])
