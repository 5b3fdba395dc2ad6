"""Peer test: Postfix's smtp-sink as a fast smart host (relayhost = [127.0.0.1]:PORT). 60
messages submitted over 3 sessions must each reach smtp-sink exactly once (smtp-sink -d dumps
every transaction to its own file; the test's marker in each Message-ID finds duplicates), with
the envelope intact, and our log must say status=sent once per message.

smtp-sink offers no STARTTLS, so smtp_tls_security_level = may (the default) sends in clear:
this test is about volume and exactly-once, the TLS path is test_relay_smart_host.py's.
Mail enters over submission with AUTH when it is built, else over our smtpd from mynetworks.
"""
import re
import shutil
import smtplib

from postern_harness import TEST_PASSWORD, Suite, run_tests, wait_until
from relay_peers import (SmtpSink, client_tls_context, has_submission, make_message, log_lines,
                         temp_dir)

MESSAGES = 60
SESSIONS = 3
SENDER = "alice@example.test"
RECIPIENTS = ["one@sink.test", "two@sink.test"]


def open_session(suite):
    if has_submission(suite):
        client = smtplib.SMTP("127.0.0.1", suite.submission_port, local_hostname="client.test",
                              timeout=30)
        client.ehlo()
        client.starttls(context=client_tls_context())
        client.ehlo()
        client.login(SENDER, TEST_PASSWORD)
        return client
    return smtplib.SMTP("127.0.0.1", suite.smtp_port, local_hostname="client.test", timeout=30)


def test_smtp_sink_gets_every_message_once():
    work = temp_dir("relay-sink-")
    sink = SmtpSink(work)
    try:
        with Suite(main_cf_extra=f"mynetworks = 127.0.0.0/8\n"
                                 f"relayhost = [127.0.0.1]:{sink.port}\n") as suite:
            markers = []
            for session in range(SESSIONS):
                client = open_session(suite)
                try:
                    for _ in range(MESSAGES // SESSIONS):
                        message, marker = make_message(SENDER, RECIPIENTS, "sink volume")
                        refused = client.sendmail(SENDER, RECIPIENTS, message)
                        assert not refused, refused
                        markers.append(marker)
                finally:
                    client.quit()

            def all_in():
                return sink.message_count() >= MESSAGES and not suite.queue_files()
            try:
                wait_until(all_in, 90, 0.1, f"{MESSAGES} messages at smtp-sink")
            except TimeoutError:
                raise AssertionError(f"{sink.message_count()} of {MESSAGES} at smtp-sink, "
                                     f"{len(suite.queue_files())} queued\n"
                                     + suite.log()[-5000:]) from None

            transactions = sink.transactions()
            assert len(transactions) == MESSAGES, \
                f"{len(transactions)} transactions at smtp-sink, want {MESSAGES}"
            seen = {}
            for mail_args, rcpts, body in transactions:
                assert mail_args.startswith(f"<{SENDER}>"), mail_args
                assert sorted(r.split()[0] for r in rcpts) == sorted(f"<{r}>" for r in RECIPIENTS), \
                    f"recipients {rcpts}"
                found = re.search(rb"Message-ID: <([0-9a-f]+)@client\.test>", body)
                assert found, f"no test Message-ID in {body[:500]!r}"
                seen[found.group(1).decode()] = seen.get(found.group(1).decode(), 0) + 1
            twice = {m: n for m, n in seen.items() if n > 1}
            assert not twice, f"delivered more than once: {twice}"
            assert set(seen) == set(markers), \
                f"missing: {sorted(set(markers) - set(seen))[:5]}"

            for rcpt in RECIPIENTS:
                sent = log_lines(suite, rf"to=<{re.escape(rcpt)}>.*status=sent")
                assert len(sent) == MESSAGES, \
                    f"{len(sent)} status=sent lines for {rcpt}, want {MESSAGES}"
            assert not log_lines(suite, r"status=(deferred|bounced)"), \
                "\n".join(log_lines(suite, r"status=(deferred|bounced)")[:5])
    finally:
        sink.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_smtp_sink_gets_every_message_once])
