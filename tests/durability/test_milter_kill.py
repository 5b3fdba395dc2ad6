"""kill -9 of smtpd with a milter in the path (issue 12): while the milter holds the end of the
message, the client has no 250 and nothing may come of the message (the spool file is
anonymous: nothing is left behind to deliver); right after the 250, the message as the milter
changed it is delivered although smtpd died at once. Whole suite on loopback."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "protocol"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from postern_harness import Suite, wait_until  # noqa: E402
from smtpd_wire import Wire, incoming_entries, maildir_body, wait_queue_empty  # noqa: E402
from test_milter import ContinueMilter, packet  # noqa: E402
from test_smtpd_kill import wait_for_new_smtpd  # noqa: E402

RCPT = "demo@example.test"
SMFIC_EOM = b"E"


class EomMilter(ContinueMilter):
    """CONTINUE to every step; at end of message it adds X-Milter: seen, then waits eom_delay
    seconds before its final CONTINUE."""

    def __init__(self, eom_delay=0.0):
        self.eom_delay = eom_delay
        self.eom_seen = 0
        super().__init__()

    def answer(self, conn, code, data):
        if code == SMFIC_EOM:
            self.eom_seen += 1
            conn.sendall(packet(b"h", b"X-Milter\0seen\0"))
            deadline = time.monotonic() + self.eom_delay
            while time.monotonic() < deadline and not self._stopping.is_set():
                time.sleep(0.05)
        return super().answer(conn, code, data)


def send_until_data_end(wire, subject):
    wire.greet()
    wire.command("MAIL FROM:<sender@remote.test>", 250)
    wire.command(f"RCPT TO:<{RCPT}>", 250)
    wire.command("DATA", 354)
    wire.send(f"Subject: {subject}\r\n\r\nbody\r\n.\r\n")


def test_kill_while_the_milter_holds_the_message():
    with EomMilter(eom_delay=30) as milter, \
            Suite(main_cf_extra=f"smtpd_milters = {milter.spec}\n") as suite:
        wire = Wire(suite.smtp_port)
        try:
            send_until_data_end(wire, "killed at the milter")
            wait_until(lambda: milter.eom_seen == 1, 10, 0.02, "the milter at end of message")
            killed = suite.kill_worker("smtpd")
            assert wire.closed_by_peer(10), "connection still open after kill -9"
            assert b"250" not in wire.buffer, wire.buffer
        finally:
            wire.close()
        milter.eom_delay = 0
        wait_for_new_smtpd(suite, killed)
        with Wire(suite.smtp_port) as wire:
            send_until_data_end(wire, "after the restart")
            wire.expect(250, "queued as")
        suite.wait_for_mail(RCPT, 1)
        wait_queue_empty(suite)
        body, _ = maildir_body(suite.messages(RCPT)[0])
        assert b"Subject: after the restart" in body and b"X-Milter: seen" in body, body
        assert not [n for n in incoming_entries(suite) if not n.startswith(".")]


def test_kill_right_after_250_keeps_the_edited_message():
    with EomMilter() as milter, \
            Suite(main_cf_extra=f"smtpd_milters = {milter.spec}\n") as suite:
        with Wire(suite.smtp_port) as wire:
            send_until_data_end(wire, "acknowledged")
            wire.expect(250, "queued as")
            suite.kill_worker("smtpd")
        suite.wait_for_mail(RCPT, 1)
        body, _ = maildir_body(suite.messages(RCPT)[0])
        assert b"Subject: acknowledged" in body and b"X-Milter: seen" in body, body


if __name__ == "__main__":
    postern_harness.run_tests([
        test_kill_while_the_milter_holds_the_message,
        test_kill_right_after_250_keeps_the_edited_message,
    ])
