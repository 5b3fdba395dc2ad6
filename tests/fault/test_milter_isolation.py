"""A slow milter delays only its own session (issue 12): the milter conversation runs on
smtpd's event loop without blocking it. A milter that answers the HELO of one client only
after 6 s holds that client's EHLO reply; meanwhile a second client on the same smtpd process
sends a whole message and hears 250 first. Then the slow client goes on and is served too.
"""
import os
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from postern_harness import Suite, run_tests  # noqa: E402
from test_milter import ContinueMilter  # noqa: E402

SLOW_HELO = b"slow.example"
DELAY_SECONDS = 6.0


class SlowForOneHeloMilter(ContinueMilter):
    """Answers every step with CONTINUE at once, except the HELO named SLOW_HELO: that answer
    comes DELAY_SECONDS later."""

    def answer(self, conn, code, data):
        if code == b"H" and data.rstrip(b"\0") == SLOW_HELO:
            time.sleep(DELAY_SECONDS)
        return super().answer(conn, code, data)


MESSAGE = b"From: <a@client.example>\r\nTo: <demo@example.test>\r\nSubject: fast\r\n\r\nfast\r\n"


def test_slow_milter_session_does_not_block_others():
    with SlowForOneHeloMilter() as milter, \
            Suite(main_cf_extra=f"smtpd_milters = {milter.spec}\n", start=False) as suite:
        # One smtpd process (maxproc 1) serves both clients.
        services = suite.default_services()
        services[0] = f"127.0.0.1:{suite.smtp_port} inet n - n - 1 smtpd"
        suite.write_master_cf(services)
        suite.start()
        slow_done = {}

        def slow_client():
            with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=30) as client:
                started = time.monotonic()
                code, _ = client.ehlo(SLOW_HELO.decode())
                slow_done["ehlo"] = (code, time.monotonic() - started, time.monotonic())
                client.sendmail("a@client.example", ["demo@example.test"],
                                MESSAGE.replace(b"fast", b"slow"))

        slow = threading.Thread(target=slow_client)
        slow.start()
        time.sleep(0.5)  # the slow client's EHLO is at the milter now
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=30) as client:
            client.ehlo("fast.example")
            client.sendmail("a@client.example", ["demo@example.test"], MESSAGE)
        fast_finished = time.monotonic()
        slow.join(30)
        assert not slow.is_alive()
        code, waited, slow_finished = slow_done["ehlo"]
        assert code == 250 and waited >= DELAY_SECONDS - 1, slow_done
        assert fast_finished < slow_finished, "the fast client should have finished first"
        suite.wait_for_mail("demo@example.test", 2)


if __name__ == "__main__":
    run_tests([test_slow_milter_session_does_not_block_others])
