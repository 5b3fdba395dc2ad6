"""Peer test: relay sends through a real smart host, npm's smtp-server (tests/node/smart_host.js),
set up the way hosted relays are: STARTTLS required before AUTH, AUTH required before MAIL, a
certificate from a CA that only the test knows (relay trusts it through smtp_tls_CAfile, with
smtp_tls_security_level = verify, so the chain AND the name are checked).

Name resolution: relayhost = [smarthost.test]:PORT names the smart host like a real config does
(relayhost = [smtp.resend.com]:587), and the certificate carries only DNS:smarthost.test, so
`verify` has a real name to check. The name resolves through a dnsmasq on a loopback port that
relay is pointed at with smtp_dns_resolver_address (the same resolver it uses for MX lookups);
no /etc/hosts edit, which would change the shared machine. A second test uses the IP literal
form, relayhost = [127.0.0.1]:PORT, with a certificate whose SAN is IP:127.0.0.1, and a third
a smart host with implicit TLS (port-465 style, smtp_tls_wrappermode = yes), and a fourth
relayhost = relay.test:PORT without brackets, found through relay.test's MX record.

Checked:
- the message arrives byte for byte: the client's header and body unchanged, our Received: on
  top, nothing else different;
- the credentials the smart host saw are the ones in smtp_sasl_password_maps (a texthash table
  compiled by master), and the password never appears in our log;
- a wrong password in the table: deferred (4xx), not bounced; after the table is corrected
  (SIGHUP recompiles it) and the queue flushed, the message goes;
- a certificate for another name: deferred, and relay never sends the credentials to it.

The main test submits as users do: submission port, STARTTLS, AUTH (postern-submission must be
built). The others submit the same way when it is built, else over our port-25 smtpd from
127.0.0.1 with mynetworks = 127.0.0.0/8 (they are about relay, not about how mail got in).
"""
import os
import re
import shutil

from postern_harness import Suite, run_tests, wait_until
from relay_peers import (Dnsmasq, SmartHost, TestCa, make_message, header_fields, log_lines,
                         queue_flush, submit, temp_dir, wait_for_log, write_table)

SENDER = "demo@example.test"
RECIPIENT = "someone@remote.test"
RELAY_USER = "resend"
RELAY_PASSWORD = "re_Table_Secret_4711"


def relay_main_cf(relayhost, ca_cert, table, resolver=None, level="verify", extra=""):
    lines = [
        "mynetworks = 127.0.0.0/8",
        f"relayhost = {relayhost}",
        f"smtp_tls_security_level = {level}",
        f"smtp_tls_CAfile = {ca_cert}",
        f"smtp_sasl_password_maps = texthash:{table}",
        "smtp_connect_timeout = 5s",
    ]
    if resolver:
        lines.append(f"smtp_dns_resolver_address = {resolver}")
    return "\n".join(lines) + "\n" + extra


class Setup:
    """CA + smart host + dnsmasq + a Suite relaying to the smart host; stops all of them."""

    def __init__(self, san=("DNS:smarthost.test",), by_name=True, table_password=RELAY_PASSWORD,
                 main_cf_extra="", implicit_tls=False, mx_form=False):
        self.dir = temp_dir("relay-smarthost-")
        self.ca = TestCa(os.path.join(self.dir, "ca"))
        self.cert, self.key = self.ca.server_cert("smarthost", "smarthost.test", list(san))
        self.dns = None
        self.host = None
        self.suite = None
        self.ok = False
        try:
            self.host = SmartHost(self.dir, self.cert, self.key, RELAY_USER, RELAY_PASSWORD,
                                  implicit_tls=implicit_tls)
            if mx_form:
                # "relay.test:PORT" without brackets: MX lookup of relay.test, whose MX is
                # smarthost.test (RFC 5321 5.1; as Postfix does for an unbracketed relayhost).
                self.dns = Dnsmasq(self.dir, mx=[("relay.test", "smarthost.test", 10)],
                                   hosts=[("smarthost.test", ["127.0.0.1"])])
                self.relayhost = f"relay.test:{self.host.port}"
            elif by_name:
                self.dns = Dnsmasq(self.dir, hosts=[("smarthost.test", ["127.0.0.1"])])
                self.relayhost = f"[smarthost.test]:{self.host.port}"
            else:
                self.relayhost = f"[127.0.0.1]:{self.host.port}"
            self.suite = Suite(start=False)
            self.table = write_table(self.suite, "relay_passwords",
                                     [f"{self.relayhost}  {RELAY_USER}:{table_password}"])
            self.suite.write_main_cf(relay_main_cf(
                self.relayhost, self.ca.cert, self.table,
                resolver=self.dns.address if self.dns else None, extra=main_cf_extra))
            self.suite.start()
        except BaseException:
            self.close(failed=True)
            raise

    def close(self, failed):
        try:
            if self.suite is not None:
                self.suite.__exit__(RuntimeError if failed else None, None, None)
        finally:
            try:
                if self.host is not None:
                    self.host.stop()
            finally:
                if self.dns is not None:
                    self.dns.stop()
                if not failed:
                    shutil.rmtree(self.dir, ignore_errors=True)
                elif self.host is not None:
                    print(f"--- smart host log ---\n{self.host.log()[-3000:]}\n"
                          f"events: {self.host.events()[-20:]}")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(failed=exc_type is not None)
        return False


def check_byte_exact(original, received):
    """received must be header fields we added, then the original bytes unchanged."""
    assert received.endswith(original), (
        "the client's header and body did not arrive unchanged:\n--- sent ---\n"
        f"{original[:1500]!r}\n--- received ---\n{received[:2000]!r}")
    added = received[:len(received) - len(original)]
    assert added.endswith(b"\r\n"), f"added header block does not end a line: {added[-200:]!r}"
    fields = header_fields(added[:-2])
    for field in fields:
        assert re.match(rb"^[!-9;-~]+:", field), f"not a header field in what we added: {field!r}"
    # The client's message has From, Message-ID and Date: our Received: is all we may add.
    assert len(fields) == 1 and fields[0].lower().startswith(b"received:"), \
        f"added fields: {[f.split(b':')[0] for f in fields]}, want only our Received:"
    assert b"by mx.example.test" in fields[0], f"top Received: is not ours: {fields[0]!r}"
    assert b"\r\n" in received and b"\n" not in received.replace(b"\r\n", b""), \
        "bare LF in what the smart host received"
    return fields


def test_smart_host_by_name_byte_exact_with_table_credentials():
    with Setup() as s:
        message, marker = make_message(SENDER, [RECIPIENT], "relay through smart host")
        # As users send: submission port, STARTTLS, AUTH as the sender.
        queue_id = submit(s.suite, SENDER, [RECIPIENT], message, via="submission")
        (envelope, received), = s.host.wait_for_messages(1, 30, s.suite)

        assert envelope["mailFrom"] == SENDER, envelope
        assert envelope["rcptTo"] == [RECIPIENT], envelope
        assert envelope["secure"], "the smart host saw the message outside TLS"
        assert envelope["user"] == RELAY_USER, f"authenticated as {envelope['user']!r}"
        fields = check_byte_exact(message, received)
        assert b"with ESMTPSA" in fields[0], f"not received over submission with AUTH: {fields[0]!r}"
        print(f"  added by Postern: {fields[0].decode(errors='replace')}")

        auths = s.host.events("auth")
        assert auths, "relay never sent AUTH"
        for attempt in auths:
            assert (attempt["user"], attempt["password"]) == (RELAY_USER, RELAY_PASSWORD), \
                f"relay logged in with something other than the table's credentials: {attempt}"
            assert attempt["secure"], "AUTH before STARTTLS"
        assert all(a["ok"] for a in auths), auths

        sent = wait_for_log(s.suite, rf"to=<{re.escape(RECIPIENT)}>.*status=sent")
        # Postfix's shape, which pflogsumm and fail2ban filters read.
        shape = (rf"{queue_id}: to=<{re.escape(RECIPIENT)}>, "
                 rf"relay=smarthost\.test\[127\.0\.0\.1\]:{s.host.port}, delay=\d+(\.\d+)?, "
                 r"(delays=[\d./]+, )?dsn=2\.\d+\.\d+, status=sent \(250 .*msg-1\)")
        assert re.search(shape, sent[0]), f"delivery line not in Postfix's shape: {sent[0]}"
        assert log_lines(s.suite, rf"Verified TLS connection established to "
                                  rf"smarthost\.test\[127\.0\.0\.1\]:{s.host.port}"), \
            "no 'Verified TLS connection' line for the smart host"
        assert queue_id in sent[0], f"queue ID {queue_id} not in the delivery line: {sent[0]}"
        assert RELAY_PASSWORD not in s.suite.log(), "the relay password appears in the log"
        wait_until(lambda: not s.suite.queue_files(), 15, what="queue to empty")
        assert not s.suite.messages(SENDER), "the sender got mail (a bounce?)"


def test_smart_host_ip_literal():
    with Setup(san=("IP:127.0.0.1",), by_name=False) as s:
        message, _ = make_message(SENDER, [RECIPIENT], "relay to an IP literal")
        submit(s.suite, SENDER, [RECIPIENT], message)
        (envelope, received), = s.host.wait_for_messages(1, 30, s.suite)
        assert envelope["user"] == RELAY_USER and envelope["secure"], envelope
        check_byte_exact(message, received)
        wait_for_log(s.suite, rf"to=<{re.escape(RECIPIENT)}>.*status=sent")


def test_smart_host_implicit_tls_wrappermode():
    # Port-465 style smart hosts (RFC 8314): TLS from the first byte, smtp_tls_wrappermode = yes.
    with Setup(implicit_tls=True, main_cf_extra="smtp_tls_wrappermode = yes\n") as s:
        message, _ = make_message(SENDER, [RECIPIENT], "relay over implicit TLS")
        submit(s.suite, SENDER, [RECIPIENT], message)
        (envelope, received), = s.host.wait_for_messages(1, 30, s.suite)
        assert envelope["user"] == RELAY_USER and envelope["secure"], envelope
        check_byte_exact(message, received)
        wait_for_log(s.suite, rf"to=<{re.escape(RECIPIENT)}>.*status=sent")


def test_smart_host_found_by_mx_lookup():
    with Setup(mx_form=True) as s:
        message, _ = make_message(SENDER, [RECIPIENT], "relayhost without brackets")
        submit(s.suite, SENDER, [RECIPIENT], message)
        (envelope, received), = s.host.wait_for_messages(1, 30, s.suite)
        assert envelope["user"] == RELAY_USER and envelope["secure"], envelope
        check_byte_exact(message, received)
        sent = wait_for_log(s.suite, rf"to=<{re.escape(RECIPIENT)}>.*status=sent")
        assert f"relay=smarthost.test[127.0.0.1]:{s.host.port}" in sent[0], sent[0]
        mx_queries = [line for line in s.dns.log().splitlines()
                      if "query[MX] relay.test" in line]
        assert mx_queries, "relay did not ask for relay.test's MX:\n" + s.dns.log()[-2000:]


def test_wrong_password_in_table_defers_then_delivers_after_fix():
    # A long back-off: the only way the message goes within the test is the flush.
    slow_retry = "minimal_backoff_time = 300s\nmaximal_backoff_time = 600s\n"
    with Setup(table_password="wrong-password", main_cf_extra=slow_retry) as s:
        message, _ = make_message(SENDER, [RECIPIENT], "wrong relay password")
        queue_id = submit(s.suite, SENDER, [RECIPIENT], message)
        deferred = wait_for_log(s.suite, rf"to=<{re.escape(RECIPIENT)}>.*status=deferred")
        assert not log_lines(s.suite, rf"to=<{re.escape(RECIPIENT)}>.*status=bounced"), \
            "a refused login bounced the message"
        assert queue_id in deferred[0], deferred[0]
        failed = [a for a in s.host.events("auth") if not a["ok"]]
        assert failed and failed[0]["password"] == "wrong-password", s.host.events()
        assert not s.host.messages(), "the smart host accepted mail without a valid login"
        assert s.suite.queue_files(), "the deferred message is not in the queue"
        assert "wrong-password" not in s.suite.log(), "the relay password appears in the log"
        assert not s.suite.messages(SENDER), "the sender got a bounce for a 4xx login failure"

        # The admin fixes the table; master recompiles it on SIGHUP; a flush sends the mail.
        write_table(s.suite, "relay_passwords", [f"{s.relayhost}  {RELAY_USER}:{RELAY_PASSWORD}"])
        s.suite.reload()
        good_logins = lambda: [a for a in s.host.events("auth") if a["ok"]]  # noqa: E731

        def flushed_and_delivered():
            if s.host.messages():
                return True
            try:
                queue_flush(s.suite)
            except RuntimeError:
                pass  # the reload replaces qmgr: the old one may close on us; try again
            return False
        # The reload is asynchronous (a new qmgr and relay replace the old ones): flush until a
        # retry uses the new password (bounded).
        wait_until(flushed_and_delivered, 30, 1.0, "delivery after the table was fixed")
        assert good_logins(), s.host.events()
        assert len(s.host.messages()) == 1
        wait_until(lambda: not s.suite.queue_files(), 15, what="queue to empty")


def test_certificate_for_another_name_defers_without_sending_credentials():
    with Setup(san=("DNS:other.test",)) as s:
        message, _ = make_message(SENDER, [RECIPIENT], "certificate mismatch")
        submit(s.suite, SENDER, [RECIPIENT], message)
        wait_for_log(s.suite, rf"to=<{re.escape(RECIPIENT)}>.*status=deferred")
        assert not log_lines(s.suite, rf"to=<{re.escape(RECIPIENT)}>.*status=(sent|bounced)")
        assert not s.host.events("auth"), \
            f"credentials sent to a server whose certificate failed: {s.host.events('auth')}"
        assert not s.host.messages()
        assert s.suite.queue_files(), "message left the queue"


if __name__ == "__main__":
    run_tests([test_smart_host_by_name_byte_exact_with_table_credentials,
               test_smart_host_ip_literal,
               test_smart_host_implicit_tls_wrappermode,
               test_smart_host_found_by_mx_lookup,
               test_wrong_password_in_table_defers_then_delivers_after_fix,
               test_certificate_for_another_name_defers_without_sending_credentials])
