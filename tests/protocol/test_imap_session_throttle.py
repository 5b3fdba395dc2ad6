"""Failed logins on postern-imapd: a wrong password gets NO [AUTHENTICATIONFAILED]; past
auth_throttle_free_failures the answer comes late (a timer in the event loop, other sessions
are served meanwhile); at auth_throttle_refuse_after failures the client is refused with
NO [UNAVAILABLE], even with the right password and on a new connection. Each failure is logged
in the shape of Dovecot's auth process line, and fail2ban's stock dovecot filter (with the
_daemon override postern-imapd(8) documents) matches exactly those lines, never the password.
Small auth_throttle_* values keep it quick. Whole suite on loopback."""
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import PASSWORD, RawImap, imap_suite, imaps  # noqa: E402

THROTTLE = """auth_throttle_free_failures = 1
auth_throttle_max_delay = 1s
auth_throttle_refuse_after = 4
auth_throttle_refuse_time = 600s
auth_throttle_window = 600s
"""
FILTER = "/etc/fail2ban/filter.d/dovecot.conf"
FAILED = re.compile(r"postern/imapd\[\d+\]: auth: passwd-file\(alice@example\.test,127\.0\.0\.1\): "
                    r"Password mismatch$")


def fail2ban_matches(log_path, daemon_override):
    spec = f"{FILTER}[_daemon={daemon_override}]" if daemon_override else FILTER
    return postern_harness.fail2ban_matched_lines(log_path, spec)


def test_wrong_password_delay_refusal_and_fail2ban():
    assert shutil.which("fail2ban-regex"), "fail2ban is not installed (scripts/install-deps)"
    assert os.path.exists(FILTER), FILTER
    with imap_suite(THROTTLE) as suite:
        with RawImap.connect_tls(suite) as conn:
            replies, elapsed = [], []
            for i in range(4):  # failures 1..4: free, delayed, delayed, refusal starts
                started = time.monotonic()
                if i % 2:
                    _, tagged = conn.command(b'LOGIN alice "wrong-password"')
                else:
                    _, tagged = conn.command(b"AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZy1wYXNzd29yZA==")
                replies.append(tagged.split(b" ", 1)[1])
                elapsed.append(time.monotonic() - started)
            assert replies == [b"NO [AUTHENTICATIONFAILED] Authentication failed."] * 4, replies
            assert elapsed[1] >= 0.9 and elapsed[2] >= 0.9, elapsed
            # Refused now, whatever the password: no oracle while refused.
            _, tagged = conn.command(b'LOGIN alice "' + PASSWORD.encode() + b'"')
            assert b"NO [UNAVAILABLE]" in tagged, tagged
        with RawImap.connect_tls(suite) as conn:
            _, tagged = conn.command(b"LOGIN bob " + PASSWORD.encode())
            assert b"NO [UNAVAILABLE]" in tagged, tagged  # the address is refused too
        log = suite.log()
        failed = [line for line in log.splitlines() if FAILED.search(line)]
        assert len(failed) == 4, log
        assert "wrong-password" not in log
        # Our lines have syslog's file shape (the host name before the tag) as they are
        # written, to stderr or maillog_file, so the filter reads them as it reads
        # /var/log/mail.log.
        written = os.path.join(suite.root, "failed.log")
        with open(written, "w") as f:
            f.write("\n".join(failed) + "\n")
        shape = re.compile(r"^[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d mx postern/imapd\[\d+\]: ")
        assert all(shape.match(line) for line in failed), failed
        assert fail2ban_matches(written, "postern/\\w+") == 4
        assert fail2ban_matches(written, None) == 0  # why the override is needed
        assert fail2ban_matches(suite.log_path, "postern/\\w+") == 4  # nothing else matches


def test_user_ip_connection_limit():
    with imap_suite("imapd_user_ip_connection_limit = 2\n") as suite:
        first, second = imaps(suite, "alice"), imaps(suite, "alice")
        with RawImap.connect_tls(suite) as conn:
            _, tagged = conn.command(b"LOGIN alice " + PASSWORD.encode())
            assert b"NO [LIMIT]" in tagged, tagged
            _, tagged = conn.command(b"LOGIN bob " + PASSWORD.encode())
            assert tagged.split()[1] == b"OK", tagged  # another user is counted apart
        first.logout()
        # The slot is free again once the first session has gone.
        deadline = time.monotonic() + 10
        while True:
            with RawImap.connect_tls(suite) as conn:
                _, tagged = conn.command(b"LOGIN alice " + PASSWORD.encode())
            if tagged.split()[1] == b"OK" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert tagged.split()[1] == b"OK", tagged
        second.logout()


if __name__ == "__main__":
    postern_harness.run_tests([test_wrong_password_delay_refusal_and_fail2ban,
                               test_user_ip_connection_limit])
