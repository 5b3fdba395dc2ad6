"""Fault test: what relay and qmgr do when the smart host fails. The smart host is npm's
smtp-server (tests/node/smart_host.js; STARTTLS + AUTH, trusted through smtp_tls_CAfile with
smtp_tls_security_level = verify, relayhost = [127.0.0.1]:PORT with a certificate for
IP:127.0.0.1), whose answers the test changes while it runs.

- Smart host down: the message is deferred, `postern queue list` shows it with the reason;
  the smart host comes up, `postern queue flush` sends it (retries are 5-10 minutes apart in
  this test, so nothing but the flush can deliver it in time).
- 550 to RCPT: the sender (a local user) gets an RFC 3464 bounce in their Maildir:
  multipart/report; report-type=delivery-status with the 550 text.
- 421 after the message's final dot: deferred; after the retry exactly one copy arrives.
- One message to four recipients, two accepted, one refused with 550, one with 450: the two
  arrive once, the 550 one bounces (only it), the 450 one is deferred and delivered after the
  flush, once.
"""
import email
import email.policy
import os
import re
import shutil

from postern_harness import Suite, free_port, run_tests, wait_until
from relay_peers import (SmartHost, TestCa, log_lines, make_message, queue_flush, queue_list,
                         submit, temp_dir, wait_for_log, write_table)

SENDER = "demo@example.test"
RELAY_USER = "relay-user"
RELAY_PASSWORD = "fault-test-secret"
SLOW_RETRY = "minimal_backoff_time = 300s\nmaximal_backoff_time = 600s\n"
FAST_RETRY = "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n"


class Setup:
    def __init__(self, retry, start_host=True):
        self.dir = temp_dir("relay-faults-")
        self.host = None
        self.suite = None
        try:
            ca = TestCa(os.path.join(self.dir, "ca"))
            cert, key = ca.server_cert("smarthost", "smarthost.test", ["IP:127.0.0.1"])
            self.host = SmartHost(self.dir, cert, key, RELAY_USER, RELAY_PASSWORD,
                                  port=free_port(), start=start_host)
            relayhost = f"[127.0.0.1]:{self.host.port}"
            self.suite = Suite(start=False)
            table = write_table(self.suite, "relay_passwords",
                                [f"{relayhost}  {RELAY_USER}:{RELAY_PASSWORD}"])
            self.suite.write_main_cf("mynetworks = 127.0.0.0/8\n"
                                     f"relayhost = {relayhost}\n"
                                     "smtp_tls_security_level = verify\n"
                                     f"smtp_tls_CAfile = {ca.cert}\n"
                                     f"smtp_sasl_password_maps = texthash:{table}\n"
                                     "smtp_connect_timeout = 5s\n" + retry)
            self.suite.start()
        except BaseException:
            self.close(True)
            raise

    def close(self, failed):
        try:
            if self.suite is not None:
                self.suite.__exit__(RuntimeError if failed else None, None, None)
        finally:
            if self.host is not None:
                if failed:
                    print(f"--- smart host log ---\n{self.host.log()[-3000:]}\n"
                          f"events: {self.host.events()[-20:]}")
                self.host.stop()
            if not failed:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(exc_type is not None)
        return False

    def copies(self, marker):
        return [(e, b) for e, b in self.host.messages() if marker.encode() in b]


def parse(path):
    with open(path, "rb") as f:
        return email.message_from_binary_file(f, policy=email.policy.compat32)


def delivery_status(report):
    """The per-recipient groups of a multipart/report's message/delivery-status part."""
    for part in report.walk():
        if part.get_content_type() == "message/delivery-status":
            groups = []
            for block in part.get_payload():
                groups.append({k.lower(): v for k, v in block.items()})
            return groups
    return None


def test_smart_host_down_then_flush():
    with Setup(SLOW_RETRY, start_host=False) as s:
        rcpt = "waiting@remote.test"
        message, marker = make_message(SENDER, [rcpt], "smart host down")
        queue_id = submit(s.suite, SENDER, [rcpt], message)
        deferred = wait_for_log(s.suite, rf"to=<{re.escape(rcpt)}>.*status=deferred")
        assert queue_id in deferred[0], deferred[0]

        def listed():
            out = queue_list(s.suite)
            return out if queue_id in out else None
        listing = wait_until(listed, 15, 0.2, f"{queue_id} in `postern queue list`")
        entry = listing[listing.index(queue_id):][:1500]
        assert rcpt in entry, f"recipient not listed with the message:\n{listing}"
        assert re.search(r"refused|connect", entry, re.IGNORECASE), \
            f"no reason (connection refused) in the listing:\n{listing}"
        assert not s.suite.messages(SENDER), "the sender got a bounce for a 4xx condition"
        print("  postern queue list:\n    " + entry.strip().replace("\n", "\n    "))

        s.host.start()
        out = queue_flush(s.suite)
        print(f"  queue flush: {out.strip()}")
        s.host.wait_for_messages(1, 30, s.suite)
        wait_until(lambda: not s.suite.queue_files(), 15, what="queue to empty")
        assert len(s.copies(marker)) == 1, f"{len(s.copies(marker))} copies"
        wait_for_log(s.suite, rf"to=<{re.escape(rcpt)}>.*status=sent")
        assert queue_id not in queue_list(s.suite), "delivered message still listed"


def test_550_bounces_to_sender_maildir():
    with Setup(FAST_RETRY) as s:
        rcpt = "nobody@remote.test"
        s.host.set_rules(rcpt={rcpt: (550, "No such user: nobody@remote.test")})
        message, marker = make_message(SENDER, [rcpt], "to a refused address")
        submit(s.suite, SENDER, [rcpt], message)
        bounced = wait_for_log(s.suite, rf"to=<{re.escape(rcpt)}>.*status=bounced")
        assert "550" in bounced[0] and "dsn=5.1.1" in bounced[0], bounced[0]
        bounces = s.suite.wait_for_mail(SENDER, 1, timeout=30)
        assert len(bounces) == 1, f"{len(bounces)} messages for the sender"
        report = parse(bounces[0])
        assert report.get_content_type() == "multipart/report", report.get_content_type()
        assert report.get_param("report-type") == "delivery-status", report["Content-Type"]
        groups = delivery_status(report)
        assert groups, "no message/delivery-status part"
        recipients = [g for g in groups if "final-recipient" in g]
        assert len(recipients) == 1, recipients
        group = recipients[0]
        assert rcpt in group["final-recipient"], group
        assert group["action"].strip().lower() == "failed", group
        assert group["status"].strip() == "5.1.1", group
        # RFC 3464 2.3.5/2.3.6: the remote server's own reply, typed "smtp", and who said it.
        assert re.match(r"smtp;\s*550 5\.1\.1 No such user: nobody@remote\.test",
                        group.get("diagnostic-code", ""), re.IGNORECASE), group
        assert "127.0.0.1" in group.get("remote-mta", ""), group
        raw = open(bounces[0], "rb").read()
        # The original headers come back (message/rfc822 or text/rfc822-headers).
        assert marker.encode() in raw, "the bounce does not carry the original headers"
        assert not s.host.messages(), "the smart host stored a message for a refused RCPT"
        wait_until(lambda: not s.suite.queue_files(), 15, what="queue to empty")


def test_421_after_data_deferred_then_exactly_one_copy():
    with Setup(FAST_RETRY) as s:
        rcpt = "retry@remote.test"
        s.host.set_rules(data=(421, "Service shutting down, try later", 1))
        message, marker = make_message(SENDER, [rcpt], "421 after the dot")
        submit(s.suite, SENDER, [rcpt], message)
        deferred = wait_for_log(s.suite, rf"to=<{re.escape(rcpt)}>.*status=deferred")
        assert "421" in deferred[0], deferred[0]
        s.host.wait_for_messages(1, 30, s.suite)
        wait_until(lambda: not s.suite.queue_files(), 15, what="queue to empty")
        refused = s.host.events("data_refused")
        assert len(refused) == 1, refused
        assert len(s.copies(marker)) == 1, f"{len(s.copies(marker))} copies after the retry"
        assert len(log_lines(s.suite, rf"to=<{re.escape(rcpt)}>.*status=sent")) == 1
        assert not s.suite.messages(SENDER), "the sender got a bounce for a 421"


def test_mixed_recipients_per_recipient_results():
    with Setup(SLOW_RETRY) as s:
        good = ["ok1@remote.test", "ok2@remote.test"]
        hard = "hard@remote.test"
        soft = "soft@remote.test"
        s.host.set_rules(rcpt={hard: (550, "Mailbox unavailable"),
                               soft: (450, "Mailbox busy, try later")})
        rcpts = [good[0], hard, soft, good[1]]
        message, marker = make_message(SENDER, rcpts, "mixed recipients")
        submit(s.suite, SENDER, rcpts, message)

        wait_for_log(s.suite, rf"to=<{re.escape(soft)}>.*status=deferred")
        wait_for_log(s.suite, rf"to=<{re.escape(hard)}>.*status=bounced")
        for rcpt in good:
            wait_for_log(s.suite, rf"to=<{re.escape(rcpt)}>.*status=sent")
        first = s.copies(marker)
        assert len(first) == 1 and sorted(first[0][0]["rcptTo"]) == sorted(good), \
            f"first attempt: {[e['rcptTo'] for e, _ in first]}"

        # The 450 is lifted; the flush sends the one deferred recipient, and only it.
        s.host.set_rules()
        queue_flush(s.suite)
        wait_until(lambda: len(s.copies(marker)) >= 2, 30, 0.05, "the deferred recipient")
        wait_until(lambda: not s.suite.queue_files(), 15, what="queue to empty")
        copies = s.copies(marker)
        delivered = [r for e, _ in copies for r in e["rcptTo"]]
        assert sorted(delivered) == sorted(good + [soft]), \
            f"deliveries per recipient: {delivered}"

        bounces = s.suite.wait_for_mail(SENDER, 1, timeout=30)
        assert len(bounces) == 1, f"{len(bounces)} bounces"
        groups = [g for g in delivery_status(parse(bounces[0])) or [] if "final-recipient" in g]
        failed = [g["final-recipient"] for g in groups if g["action"].strip().lower() == "failed"]
        assert len(failed) == 1 and hard in failed[0], f"failed recipients in the DSN: {failed}"
        assert "Mailbox unavailable" in open(bounces[0], "rb").read().decode(errors="replace")
        for other in good + [soft]:
            assert not any(other in g["final-recipient"] and
                           g["action"].strip().lower() == "failed" for g in groups), groups


if __name__ == "__main__":
    run_tests([test_smart_host_down_then_flush,
               test_550_bounces_to_sender_maildir,
               test_421_after_data_deferred_then_exactly_one_copy,
               test_mixed_recipients_per_recipient_results])
