"""Failed logins on postern-submission: a wrong password gets 535 5.7.8; past
auth_throttle_free_failures the failure reply comes late (a timer in the event loop); at
auth_throttle_refuse_after failures the client is refused with 454 4.7.0, even with the right
password and on a new connection. Every failure is logged in Postfix's shape, and fail2ban's own
postfix filter (mode=auth, with the _daemon override postern-submission(8) documents) matches
each of those lines as written (syslog's file shape, with the host name). Small
auth_throttle_* values keep it quick. Whole suite on loopback."""
import base64
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postern_harness  # noqa: E402
from submission_support import PASSWORD, starttls_client, submission_suite  # noqa: E402

THROTTLE = """auth_throttle_free_failures = 1
auth_throttle_max_delay = 1s
auth_throttle_refuse_after = 4
auth_throttle_refuse_time = 600s
auth_throttle_window = 600s
"""
FILTER = "/etc/fail2ban/filter.d/postfix.conf"
FAILED = re.compile(r"warning: unknown\[127\.0\.0\.1\]: SASL (PLAIN|LOGIN) authentication "
                    r"failed: authentication failure, sasl_username=alice@example\.test$")


def plain(password):
    return base64.b64encode(f"\0alice@example.test\0{password}".encode()).decode()


def fail2ban_matches(log_path, daemon_override):
    spec = f"{FILTER}[mode=auth, _daemon={daemon_override}]" if daemon_override else \
        f"{FILTER}[mode=auth]"
    return postern_harness.fail2ban_matched_lines(log_path, spec)


def test_wrong_password_delay_refusal_and_fail2ban():
    assert shutil.which("fail2ban-regex"), "fail2ban is not installed (scripts/install-deps)"
    assert os.path.exists(FILTER), FILTER
    with submission_suite(main_cf_extra=THROTTLE) as suite:
        with starttls_client(suite) as client:
            replies, elapsed = [], []
            for _ in range(4):  # failures 1..4: free, delayed, delayed, refusal starts
                started = time.monotonic()
                replies.append(client.docmd("AUTH PLAIN " + plain("wrong-password")))
                elapsed.append(time.monotonic() - started)
            assert replies == [(535, b"5.7.8 Authentication credentials invalid")] * 4, replies
            assert elapsed[1] >= 0.9 and elapsed[2] >= 0.9, elapsed  # held back by the timer
            # Refused now, whatever the password: no oracle while refused.
            assert client.docmd("AUTH PLAIN " + plain(PASSWORD)) == \
                (454, b"4.7.0 Too many failed authentication attempts, try again later")
        with starttls_client(suite) as client:
            assert client.docmd("AUTH LOGIN")[0] == 454
            assert client.docmd("MAIL FROM:<alice@example.test>")[0] == 530
        log = suite.log()
        failed = [line for line in log.splitlines() if FAILED.search(line)]
        assert len(failed) == 4, log
        assert "SASL LOGIN authentication refused: too many failed attempts" in log, log

        # fail2ban's postfix filter on our lines as they are written (to stderr or
        # maillog_file: syslog's file shape, the host name before the tag), where the tag
        # postern/submission needs the _daemon override postern-submission(8) gives for the jail.
        written = os.path.join(suite.root, "failed.log")
        with open(written, "w") as f:
            f.write("\n".join(failed) + "\n")
        shape = re.compile(r"^[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d mx "
                           r"postern/submission\[\d+\]: ")
        assert all(shape.match(line) for line in failed), failed
        assert fail2ban_matches(written, "postern/\\w+") == 4
        assert fail2ban_matches(written, None) == 0  # why the override is needed
        assert fail2ban_matches(suite.log_path, "postern/\\w+") == 4  # nothing else matches


if __name__ == "__main__":
    postern_harness.run_tests([test_wrong_password_delay_refusal_and_fail2ban])
