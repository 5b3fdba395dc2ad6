"""kill -9 of smtpd: in the middle of DATA (and of a BDAT chunk) the client never gets a 250
and nothing is delivered; the master starts a new smtpd and new connections work. Right after
a 250 the acknowledged message is delivered even though smtpd died at once ("a 250 means the
message is on disk"). Whole suite on loopback in a temporary directory."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "protocol"))
import postern_harness  # noqa: E402
from postern_harness import Suite, wait_until  # noqa: E402
from smtpd_wire import Wire, incoming_entries, maildir_body, wait_queue_empty  # noqa: E402

RCPT = "demo@example.test"


def wait_for_new_smtpd(suite, old_pids):
    """Waits until the master runs a new smtpd that answers with a greeting."""
    wait_until(lambda: [p for p in suite.worker_pids("smtpd") if p not in old_pids], 30, 0.05,
               "the master to restart smtpd")

    def greets():
        try:
            with Wire(suite.smtp_port, timeout=5) as wire:
                return wire.reply()[0] == 220
        except (OSError, EOFError):
            return False
    wait_until(greets, 30, 0.1, "the new smtpd to greet")


def subjects(suite):
    found = []
    for path in suite.messages(RCPT):
        body, _ = maildir_body(path)
        found += [line for line in body.split(b"\n") if line.startswith(b"Subject: ")]
    return found


def send_complete(suite, subject):
    with Wire(suite.smtp_port) as wire:
        wire.greet()
        wire.command("MAIL FROM:<after@remote.test>", 250)
        wire.command(f"RCPT TO:<{RCPT}>", 250)
        wire.command("DATA", 354)
        wire.send(f"Subject: {subject}\r\n\r\nbody\r\n.\r\n")
        wire.expect(250, "queued as")
        wire.command("QUIT", 221)


def kill_mid_transfer(suite, start_transfer):
    wire = Wire(suite.smtp_port)
    try:
        wire.greet()
        wire.command("MAIL FROM:<victim@remote.test>", 250)
        wire.command(f"RCPT TO:<{RCPT}>", 250)
        start_transfer(wire)
        # The queue file is open under its temporary name: smtpd is inside the transfer.
        wait_until(lambda: any(n.endswith(".tmp") for n in incoming_entries(suite)), 10, 0.02,
                   "the temporary queue file")
        killed = suite.kill_worker("smtpd")
        assert wire.closed_by_peer(10), "connection still open after kill -9"
        assert b"250" not in wire.buffer, wire.buffer
    finally:
        wire.close()
    return killed


def test_stale_temporary_file_is_purged():
    """The .tmp a killed smtpd leaves behind is removed by qmgr after temporary_file_lifetime."""
    with Suite(main_cf_extra="temporary_file_lifetime = 1s") as suite:
        def start(wire):
            wire.command("DATA", 354)
            wire.send("Subject: left half-written\r\n\r\nfirst half\r\n")
        kill_mid_transfer(suite, start)
        wait_until(lambda: not any(n.endswith(".tmp") for n in incoming_entries(suite)), 20,
                   0.1, "qmgr to remove the stale temporary file")
        assert "removed stale temporary file" in suite.log()
        assert suite.messages(RCPT) == []


def test_kill_in_the_middle_of_data():
    with Suite() as suite:
        def start(wire):
            wire.command("DATA", 354)
            wire.send("Subject: killed in DATA\r\n\r\nfirst half\r\n")
        killed = kill_mid_transfer(suite, start)
        wait_for_new_smtpd(suite, killed)
        send_complete(suite, "after the restart")
        suite.wait_for_mail(RCPT, 1)
        wait_queue_empty(suite)
        assert subjects(suite) == [b"Subject: after the restart"], subjects(suite)
        # The half-written file never got a final name.
        assert not [n for n in incoming_entries(suite) if not n.startswith(".")]


def test_kill_in_the_middle_of_a_bdat_chunk():
    with Suite() as suite:
        def start(wire):
            wire.send("BDAT 1000 LAST\r\nSubject: killed in BDAT\r\n\r\npartial")
        killed = kill_mid_transfer(suite, start)
        wait_for_new_smtpd(suite, killed)
        send_complete(suite, "after the BDAT kill")
        suite.wait_for_mail(RCPT, 1)
        wait_queue_empty(suite)
        assert subjects(suite) == [b"Subject: after the BDAT kill"], subjects(suite)


def test_kill_right_after_250_keeps_the_message():
    with Suite() as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.command("MAIL FROM:<acked@remote.test>", 250)
            wire.command(f"RCPT TO:<{RCPT}>", 250)
            wire.command("DATA", 354)
            wire.send("Subject: acknowledged\r\n\r\nmust survive\r\n.\r\n")
            wire.expect(250, "queued as")
            killed = suite.kill_worker("smtpd")
        suite.wait_for_mail(RCPT, 1)
        assert subjects(suite) == [b"Subject: acknowledged"]
        wait_for_new_smtpd(suite, killed)


if __name__ == "__main__":
    postern_harness.run_tests([
        test_stale_temporary_file_is_purged,
        test_kill_in_the_middle_of_data,
        test_kill_in_the_middle_of_a_bdat_chunk,
        test_kill_right_after_250_keeps_the_message,
    ])
