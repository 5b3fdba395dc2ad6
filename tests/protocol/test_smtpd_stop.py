"""smtpd's graceful stop (SIGTERM to the master): a session with no transaction hears
"421 4.3.2 Service shutting down" and is closed; a session with a transaction under way (after
MAIL, or in the middle of DATA) may finish its message, gets its 250 (the message is on disk and
is delivered after a restart), then the 421. Whole suite on loopback in a temporary directory."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postern_harness  # noqa: E402
from postern_harness import Suite, wait_until  # noqa: E402
from smtpd_wire import Wire, maildir_body  # noqa: E402


def test_idle_session_told_and_closed():
    with Suite() as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            suite.process.send_signal(signal.SIGTERM)
            wire.expect(421, "4.3.2 Service shutting down")
            assert wire.closed_by_peer()
        suite.process.wait(30)


def test_session_between_rcpt_and_data_finishes():
    """A reload or stop must not cut a client off in the middle of its transaction."""
    with Suite() as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.command("MAIL FROM:<mid@remote.test>", 250)
            wire.command("RCPT TO:<demo@example.test>", 250)
            suite.process.send_signal(signal.SIGTERM)
            wait_until(lambda: "stopping: 1 session(s) open" in suite.log(), 10, 0.02,
                       "smtpd to start stopping")
            wire.command("DATA", 354)
            wire.send("Subject: sent after the stop began\r\n\r\nbody\r\n.\r\n")
            wire.expect(250, "queued as")
            wire.expect(421, "4.3.2")
            assert wire.closed_by_peer()
        suite.process.wait(30)
        suite.start()
        [path] = suite.wait_for_mail("demo@example.test", 1)
        body, _ = maildir_body(path)
        assert body == b"Subject: sent after the stop began\n\nbody\n"


def test_rset_during_stop_ends_the_session():
    with Suite() as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.command("MAIL FROM:<mid@remote.test>", 250)
            suite.process.send_signal(signal.SIGTERM)
            wait_until(lambda: "stopping: 1 session(s) open" in suite.log(), 10, 0.02,
                       "smtpd to start stopping")
            wire.command("RSET", 250)
            wire.expect(421, "4.3.2")
            assert wire.closed_by_peer()
        suite.process.wait(30)


def test_session_in_data_finishes_its_message():
    with Suite() as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.command("MAIL FROM:<busy@remote.test>", 250)
            wire.command("RCPT TO:<demo@example.test>", 250)
            wire.command("DATA", 354)
            wire.send("Subject: finished during the stop\r\n\r\nfirst half\r\n")
            suite.process.send_signal(signal.SIGTERM)
            wait_until(lambda: "stopping: 1 session(s) open" in suite.log(), 10, 0.02,
                       "smtpd to start stopping")
            wire.send("second half\r\n.\r\n")
            wire.expect(250, "queued as")
            wire.expect(421, "4.3.2")
            assert wire.closed_by_peer()
        suite.process.wait(30)
        suite.start()
        [path] = suite.wait_for_mail("demo@example.test", 1)
        body, _ = maildir_body(path)
        assert body == b"Subject: finished during the stop\n\nfirst half\nsecond half\n"


if __name__ == "__main__":
    postern_harness.run_tests([
        test_idle_session_told_and_closed,
        test_session_between_rcpt_and_data_finishes,
        test_rset_during_stop_ends_the_session,
        test_session_in_data_finishes_its_message,
    ])
