"""Local delivery end to end: smtpd -> qmgr -> delivery -> Maildir. Checks the headers delivery
adds (Return-Path, Delivered-To) and keeps (smtpd's Received), LF line ends, aliases, a list
alias, plus-addressing, postmaster, a catch-all, a multi-recipient message, a bounce (RFC 3464
DSN) for a recipient removed from the accounts while its message waited in the queue, and a
deferred message for a domain that is not ours. Real clients (smtplib) on loopback."""
import email
import os
import pwd
import re
import smtplib
import uuid

import postern_harness
from postern_harness import Suite, default_accounts, free_port, wait_until, TEST_DOMAIN


def send(suite, sender, rcpts, subject, extra_headers="", rcpt_options=None):
    """Sends one message; returns (its unique token, the queue ID from the 250 reply)."""
    token = uuid.uuid4().hex
    body = (f"From: <{sender or 'nobody@remote.test'}>\r\nTo: {', '.join(rcpts)}\r\n"
            f"Subject: {subject}\r\nX-Test-Token: {token}\r\n{extra_headers}\r\n"
            f"first line of {subject}\r\nsecond line\r\n")
    with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=15) as client:
        client.ehlo("client.remote.test")
        code, reply = client.mail(sender)
        assert code == 250, (code, reply)
        for rcpt in rcpts:
            code, reply = client.rcpt(rcpt, (rcpt_options or {}).get(rcpt, []))
            assert code == 250, (rcpt, code, reply)
        code, reply = client.data(body.encode())
        assert code == 250, (code, reply)
    match = re.search(rb"queued as ([0-9A-Z]+)", reply)
    assert match, reply
    return token, match.group(1).decode()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def with_token(suite, address, token):
    """Paths of address's new/ messages that carry token."""
    return [p for p in suite.messages(address) if token.encode() in read(p)]


def wait_token(suite, address, token, timeout=30):
    try:
        return wait_until(lambda: with_token(suite, address, token), timeout, 0.05,
                          f"message {token} for {address}")
    except TimeoutError:
        raise TimeoutError(f"message {token} never reached {address}\n" + suite.log()[-6000:])


def wait_queue_empty(suite, timeout=30):
    wait_until(lambda: not suite.queue_files(), timeout, 0.05, "an empty queue")


def header_block(data):
    return data.split(b"\n\n", 1)[0]


ACCOUNTS_WITH_CATCH_ALL = default_accounts(extra_yaml="    catch_all: bob\n").replace(
    f"postmaster: demo@{TEST_DOMAIN}", f"postmaster: alice@{TEST_DOMAIN}")


def test_headers_and_line_ends():
    with Suite() as suite:
        token, queue_id = send(suite, "sender@remote.test", [f"demo@{TEST_DOMAIN}"], "headers")
        [path] = wait_token(suite, f"demo@{TEST_DOMAIN}", token)
        data = read(path)
        assert data.startswith(b"Return-Path: <sender@remote.test>\nDelivered-To: demo@"
                               + TEST_DOMAIN.encode() + b"\n"), data[:200]
        assert b"\nReceived: from " in header_block(data), data[:500]
        assert b"\r" not in data, "CRLF must become LF in the Maildir"
        assert data.endswith(b"first line of headers\nsecond line\n"), data[-100:]
        # Maildir name: <sec>.M<usec>P<pid>Q<n>.<host>,S=<size>
        name = os.path.basename(path)
        assert re.fullmatch(r"\d+\.M\d+P\d+Q\d+\.[^/]+,S=\d+", name), name
        assert name.endswith(f",S={len(data)}"), (name, len(data))
        msg = email.message_from_bytes(data)
        assert msg["Subject"] == "headers"
        wait_queue_empty(suite)
        log = suite.log()
        assert re.search(rf"{queue_id}: to=<demo@{TEST_DOMAIN}>, relay=delivery, delay=[0-9.]+, "
                         r"dsn=2\.0\.0, status=sent \(delivered to maildir\)", log), log[-3000:]
        assert f"{queue_id}: removed" in log


def test_aliases_plus_postmaster_and_catch_all():
    with Suite(accounts=ACCOUNTS_WITH_CATCH_ALL) as suite:
        cases = [
            (f"info@{TEST_DOMAIN}", [f"demo@{TEST_DOMAIN}"]),
            (f"team@{TEST_DOMAIN}", [f"alice@{TEST_DOMAIN}", f"bob@{TEST_DOMAIN}"]),
            (f"demo+tag@{TEST_DOMAIN}", [f"demo@{TEST_DOMAIN}"]),
            (f"postmaster@{TEST_DOMAIN}", [f"alice@{TEST_DOMAIN}"]),
            (f"nosuchuser@{TEST_DOMAIN}", [f"bob@{TEST_DOMAIN}"]),
        ]
        sent = [(rcpt, mailboxes, send(suite, "sender@remote.test", [rcpt], rcpt)[0])
                for rcpt, mailboxes in cases]
        for rcpt, mailboxes, token in sent:
            for mailbox in mailboxes:
                [path] = wait_token(suite, mailbox, token)
                head = header_block(read(path))
                assert f"Delivered-To: {mailbox}\n".encode() in head, (rcpt, head)
            others = {f"{u}@{TEST_DOMAIN}" for u in ("demo", "alice", "bob")} - set(mailboxes)
            for other in others:
                assert not with_token(suite, other, token), f"{rcpt} also reached {other}"
        wait_queue_empty(suite)


def test_multi_recipient_message_reaches_each_once():
    with Suite() as suite:
        rcpts = [f"{u}@{TEST_DOMAIN}" for u in ("demo", "alice", "bob")]
        # info@ resolves to demo too: the same mailbox is written once per message.
        token, _ = send(suite, "sender@remote.test", rcpts + [f"info@{TEST_DOMAIN}"], "multi")
        for rcpt in rcpts:
            [path] = wait_token(suite, rcpt, token)
            assert f"Delivered-To: {rcpt}\n".encode() in header_block(read(path))
        wait_queue_empty(suite)
        for rcpt in rcpts:
            assert len(with_token(suite, rcpt, token)) == 1, rcpt


def test_bounce_for_recipient_removed_while_queued():
    with Suite() as suite:
        # bob's Maildir cannot be created (a file is in the way): delivery defers his mail.
        owner = pwd.getpwnam(suite.mail_owner)
        domain_dir = os.path.join(suite.mail, TEST_DOMAIN)
        os.makedirs(domain_dir, exist_ok=True)
        os.chown(domain_dir, owner.pw_uid, owner.pw_gid)
        blocker = os.path.join(domain_dir, "bob")
        with open(blocker, "w") as f:
            f.write("not a maildir\n")
        token, queue_id = send(suite, f"alice@{TEST_DOMAIN}", [f"bob@{TEST_DOMAIN}"], "to bob",
                               extra_headers="X-Original-Marker: keep-me\r\n")
        wait_until(lambda: suite.queue_files("deferred"), 30, 0.05, "bob's message deferred")
        assert re.search(rf"{queue_id}: to=<bob@{TEST_DOMAIN}>, relay=delivery, .*"
                         r"status=deferred", suite.log()), suite.log()[-3000:]
        # bob leaves the accounts; master reloads them on SIGHUP.
        suite.write_accounts(default_accounts(users=("demo", "alice")).replace(
            "      team: [alice, bob]\n", "      team: [alice]\n"))
        suite.reload()
        dsn_paths = wait_until(
            lambda: [p for p in suite.messages(f"alice@{TEST_DOMAIN}")
                     if b"message/delivery-status" in read(p)], 40, 0.1, "the bounce")
        data = read(dsn_paths[0])
        assert data.startswith(b"Return-Path: <>\n"), data[:100]
        msg = email.message_from_bytes(data)
        assert msg.get_content_type() == "multipart/report"
        assert msg.get_param("report-type") == "delivery-status"
        assert msg["From"].startswith("MAILER-DAEMON@mx.example.test")
        parts = [p.get_content_type() for p in msg.get_payload()]
        assert parts == ["text/plain", "message/delivery-status", "text/rfc822-headers"], parts
        report = data.decode(errors="replace")
        assert "Reporting-MTA: dns; mx.example.test" in report
        assert f"Final-Recipient: rfc822; bob@{TEST_DOMAIN}" in report
        assert "Action: failed" in report and "Status: 5.1.1" in report, report
        assert "X-Original-Marker: keep-me" in report, "original headers are returned"
        assert "second line" not in report, "the body is not returned"
        wait_queue_empty(suite)
        assert re.search(rf"{queue_id}: to=<bob@{TEST_DOMAIN}>, relay=none, .*dsn=5\.1\.1, "
                         r"status=bounced", suite.log()), suite.log()[-3000:]
        assert f"{queue_id}: removed" in suite.log()


def unreachable_relayhost():
    """A relayhost on a loopback port nobody listens on: mail for other domains waits."""
    return f"relayhost = [127.0.0.1]:{free_port()}\n"


def test_mail_for_another_domain_is_deferred_and_stays():
    with Suite(main_cf_extra="mynetworks = 127.0.0.0/8\n" + unreachable_relayhost()) as suite:
        token, queue_id = send(suite, f"demo@{TEST_DOMAIN}", ["someone@elsewhere.test"],
                               "outbound")
        path = os.path.join(suite.spool, "deferred", queue_id)
        wait_until(lambda: os.path.exists(path), 30, 0.05, "the deferred file")
        # Deferred by relay (connection refused) or, in a build without postern-relay, by qmgr
        # ("relay service unavailable").
        pattern = (rf"{queue_id}: to=<someone@elsewhere\.test>, relay=[^,]+, .*"
                   r"dsn=4\.[0-9]\.[0-9]+, status=deferred \(")
        # Retried (queue_run_delay and back-off are 1-2 s in the suite) and deferred again.
        wait_until(lambda: len(re.findall(pattern, suite.log())) >= 2, 30, 0.1,
                   "a second deferral")
        wait_until(lambda: suite.queue_files() == [path], 10, 0.02, "the file back in deferred/")
        assert f"{queue_id}: removed" not in suite.log()
        assert not suite.messages(f"demo@{TEST_DOMAIN}"), "nothing bounced yet"


def test_expired_message_bounces_and_a_failed_bounce_goes_to_postmaster():
    # A lifetime of 0: the first temporary failure is final (as in Postfix).
    extra = ("mynetworks = 127.0.0.0/8\nmaximal_queue_lifetime = 0\nbounce_queue_lifetime = 0\n"
             + unreachable_relayhost())
    with Suite(main_cf_extra=extra) as suite:
        token, queue_id = send(
            suite, f"alice@{TEST_DOMAIN}", ["someone@elsewhere.test", "quiet@elsewhere.test"],
            "expires", rcpt_options={
                "someone@elsewhere.test": ["ORCPT=rfc822;Someone+2Bx@elsewhere.test"],
                "quiet@elsewhere.test": ["NOTIFY=NEVER"]})
        [path] = wait_until(
            lambda: [p for p in suite.messages(f"alice@{TEST_DOMAIN}")
                     if token.encode() in read(p)], 30, 0.05, "the bounce to alice")
        report = read(path).decode(errors="replace")
        assert "Final-Recipient: rfc822; someone@elsewhere.test" in report, report
        assert "Action: failed" in report and "Status: 4." in report, report
        assert "message expired in the queue: " in report, report
        assert "Original-Recipient: rfc822; Someone+x@elsewhere.test" in report, report
        assert "Final-Recipient: rfc822; quiet@" not in report, "NOTIFY=NEVER: not reported"
        assert f"{queue_id}: from=<alice@{TEST_DOMAIN}>, status=expired, returned to sender" in \
            suite.log()
        # A bounce (null sender) that cannot be delivered either: postmaster (demo) hears of it,
        # and nobody hears of a failed postmaster copy: no loop.
        token2, queue_id2 = send(suite, "", ["other@elsewhere.test"], "null sender")
        [copy] = wait_until(
            lambda: [p for p in suite.messages(f"demo@{TEST_DOMAIN}")
                     if token2.encode() in read(p)], 30, 0.05, "the postmaster copy")
        text = read(copy).decode(errors="replace")
        assert "Subject: Postmaster Copy: Undelivered Mail" in text, text[:800]
        assert "Final-Recipient: rfc822; other@elsewhere.test" in text
        wait_until(lambda: not suite.queue_files(), 30, 0.05, "an empty queue")
        assert f"{queue_id2}: postmaster non-delivery notification:" in suite.log()


def test_unparsable_queue_file_goes_to_corrupt():
    with Suite() as suite:
        owner = pwd.getpwnam(suite.mail_owner)
        name = "0000000000ZZZZZZ"  # the shape of a queue ID, content garbage
        tmp = os.path.join(suite.spool, "incoming", "." + name)
        with open(tmp, "wb") as f:
            f.write(b"V\x00\x00\x00\x05junk and more junk")
        os.chown(tmp, owner.pw_uid, owner.pw_gid)
        os.rename(tmp, os.path.join(suite.spool, "incoming", name))
        corrupt = os.path.join(suite.spool, "corrupt", name)
        wait_until(lambda: os.path.exists(corrupt), 30, 0.05, "the file in corrupt/")
        assert f"{name}: corrupt queue file moved to corrupt/" in suite.log()
        # And mail keeps flowing.
        token, _ = send(suite, "sender@remote.test", [f"demo@{TEST_DOMAIN}"], "after corrupt")
        wait_token(suite, f"demo@{TEST_DOMAIN}", token)


if __name__ == "__main__":
    postern_harness.run_tests([
        test_headers_and_line_ends,
        test_aliases_plus_postmaster_and_catch_all,
        test_multi_recipient_message_reaches_each_once,
        test_bounce_for_recipient_removed_while_queued,
        test_mail_for_another_domain_is_deferred_and_stays,
        test_expired_message_bounces_and_a_failed_bounce_goes_to_postmaster,
        test_unparsable_queue_file_goes_to_corrupt,
    ])
