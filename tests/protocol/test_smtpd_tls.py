"""smtpd STARTTLS (RFC 3207): swaks --tls and smtplib starttls deliver with the TLS details in
the Received header; the session state resets (EHLO again, STARTTLS no longer offered); bytes
pipelined after STARTTLS are dropped (CVE-2011-0411); no STARTTLS without a certificate or with
smtpd_tls_security_level = none; "encrypt" requires it before MAIL. Whole suite on loopback."""
import os
import re
import smtplib
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postern_harness  # noqa: E402
from postern_harness import Suite  # noqa: E402
from smtpd_wire import Wire, maildir_body  # noqa: E402

TLS_RE = re.compile(r"with ESMTPS id [0-9A-Z]{16}\n\t\(using (TLSv1\.[23]) with cipher (\S+) "
                    r"\((\d+)/(\d+) bits\)\)\n\tfor <")


def client_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the suite's certificate is self-signed
    return context


def test_swaks_starttls():
    with Suite() as suite:
        result = subprocess.run(
            ["swaks", "--server", f"127.0.0.1:{suite.smtp_port}", "--tls", "--timeout", "20",
             "--from", "tls@remote.test", "--to", "demo@example.test", "--header",
             "Subject: over TLS"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "<~  250 2.0.0 Ok: queued as" in result.stdout, result.stdout
        [path] = suite.wait_for_mail("demo@example.test", 1)
        _, fields = maildir_body(path)
        match = TLS_RE.search(fields["Received"])
        assert match, fields["Received"]
        assert int(match.group(3)) >= 128
        assert "TLS connection established from unknown[127.0.0.1]: TLSv1." in suite.log()


def test_smtplib_starttls_resets_the_session():
    with Suite() as suite:
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
            client.ehlo("tls.example.net")
            assert client.has_extn("starttls")
            code, _ = client.starttls(context=client_context())
            assert code == 220
            # After the handshake the server has forgotten the EHLO.
            assert client.docmd("MAIL FROM:<a@remote.test>")[0] == 503
            code, _ = client.ehlo("tls.example.net")
            assert code == 250
            assert not client.has_extn("starttls"), "STARTTLS offered again inside TLS"
            assert client.docmd("STARTTLS")[0] == 554
            version = client.sock.version()
            client.sendmail("a@remote.test", ["alice@example.test"],
                            b"Subject: smtplib tls\r\n\r\nsecret\r\n")
        [path] = suite.wait_for_mail("alice@example.test", 1)
        body, fields = maildir_body(path)
        match = TLS_RE.search(fields["Received"])
        assert match, fields["Received"]
        assert match.group(1) == version
        assert body == b"Subject: smtplib tls\n\nsecret\n"


def test_tls12_client():
    with Suite() as suite:
        context = client_context()
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
            client.starttls(context=context)
            client.ehlo("tls12.example.net")
            assert client.sock.version() == "TLSv1.2"
            client.sendmail("a@remote.test", ["bob@example.test"], b"Subject: 1.2\r\n\r\nx\r\n")
        [path] = suite.wait_for_mail("bob@example.test", 1)
        assert "(using TLSv1.2 with cipher ECDHE-" in maildir_body(path)[1]["Received"]


def test_commands_pipelined_after_starttls_are_dropped():
    with Suite() as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.send("STARTTLS\r\nNOOP\r\n")
            wire.expect(220, "2.0.0 Ready to start TLS")
            tls = client_context().wrap_socket(wire.sock)
            tls.sendall(b"EHLO after.example.net\r\n")
            data = b""
            while not re.search(rb"(^|\r\n)250 [^\r]*\r\n", data):
                chunk = tls.recv(4096)
                assert chunk, data
                data += chunk
            # The first reply inside TLS is the EHLO's, not the injected NOOP's.
            assert data.startswith(b"250-mx.example.test\r\n"), data
            tls.sendall(b"QUIT\r\n")
            tls.close()


def test_failed_handshake_closes_only_that_session():
    with Suite() as suite:
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.command("STARTTLS", 220)
            wire.send(b"this is not a TLS ClientHello\r\n" * 4)
            assert wire.closed_by_peer()
        with Wire(suite.smtp_port) as wire:
            wire.greet()
            wire.command("NOOP", 250)
        assert "SSL_accept error from unknown[127.0.0.1]" in suite.log()


def test_no_starttls_without_certificate_or_when_disabled():
    for extra in ("smtpd_tls_cert_file =\nsmtpd_tls_key_file =",
                  "smtpd_tls_security_level = none"):
        with Suite(main_cf_extra=extra) as suite:
            with Wire(suite.smtp_port) as wire:
                ehlo = wire.greet()
                assert "STARTTLS" not in ehlo, (extra, ehlo)
                wire.command("STARTTLS", 502)
                wire.command("MAIL FROM:<a@remote.test>", 250)


def test_encrypt_level_requires_tls():
    with Suite(main_cf_extra="smtpd_tls_security_level = encrypt") as suite:
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
            client.ehlo("plain.example.net")
            assert client.docmd("MAIL FROM:<a@remote.test>")[0] == 530
            client.starttls(context=client_context())
            client.ehlo("tls.example.net")
            assert client.docmd("MAIL FROM:<a@remote.test>")[0] == 250


if __name__ == "__main__":
    postern_harness.run_tests([
        test_swaks_starttls,
        test_smtplib_starttls_resets_the_session,
        test_tls12_client,
        test_commands_pipelined_after_starttls_are_dropped,
        test_failed_handshake_closes_only_that_session,
        test_no_starttls_without_certificate_or_when_disabled,
        test_encrypt_level_requires_tls,
    ])
