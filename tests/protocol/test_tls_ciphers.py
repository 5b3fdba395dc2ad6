"""smtpd_tls_cipherlist: what smtpd (25, STARTTLS), submission (587 STARTTLS, 465 TLS from the
first byte) and imapd (143 STARTTLS, 993) offer, seen by real clients on loopback.

- The shipped main.cf (Suite(shipped=True)): a TLS 1.2 client with nothing but CBC suites is
  refused on every port, with a handshake_failure alert (openssl s_client and Python's ssl, both
  OpenSSL clients) and a "no shared cipher" log line; a TLS 1.3 client and a TLS 1.2 client with
  its default suites connect, and the TLS 1.2 one gets forward-secret AEAD. Offering one TLS 1.2
  suite at a time, the server accepts exactly the RSA-certificate members of the intermediate
  list (ECDHE/DHE with AES-GCM or CHACHA20-POLY1305), never CBC nor static RSA.
- Another list changes what is offered, on every port; back to the default after SIGHUP, the new
  workers offer the default again.
- A bad list is a configuration error with a clear message, never a crash: postern-master
  refuses to start (and -t says why, naming the word), a master.cf -o override is refused with
  its file and line, and at SIGHUP the running configuration stays.
The testssl.sh scan of the same ports is tests/peer/test_testssl.py.
"""
import os
import socket
import ssl
import subprocess

import postern_harness
from postern_harness import Suite, wait_until

# The TLS 1.2 suites a client may offer one at a time; the suite's certificate is RSA, so only
# the aRSA members of the default list can be chosen.
DEFAULT_RSA_SUITES = {
    "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305",
}
CBC_SUITES = {"ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA384", "ECDHE-RSA-AES128-SHA",
              "ECDHE-RSA-AES256-SHA", "DHE-RSA-AES128-SHA256", "DHE-RSA-AES256-SHA256",
              "AES128-SHA256", "AES256-SHA"}
STATIC_RSA_AEAD = {"AES128-GCM-SHA256", "AES256-GCM-SHA384"}
PROBED_SUITES = sorted(DEFAULT_RSA_SUITES | CBC_SUITES | STATIC_RSA_AEAD)
# What testssl.sh's LUCKY13 check and the issue named: a CBC-only TLS 1.2 client.
CBC_ONLY = "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA"
SERVICES = ("smtp", "submission", "submissions", "imap", "imaps")
STARTTLS = {"smtp": "smtp", "submission": "smtp", "imap": "imap"}  # the others: TLS at once


def client_context(max_version=None, ciphers=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the suite's certificate is self-signed
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if max_version:
        context.maximum_version = max_version
    if ciphers:
        context.set_ciphers(ciphers)
    return context


def read_line(sock):
    """One line, read a byte at a time so that nothing after it (the TLS handshake) is taken."""
    line = b""
    while not line.endswith(b"\r\n"):
        byte = sock.recv(1)
        assert byte, f"closed after {line!r}"
        line += byte
    return line


def smtp_reply(sock):
    lines = [read_line(sock)]
    while lines[-1][3:4] == b"-":
        lines.append(read_line(sock))
    return b"".join(lines)


def plain_to_tls(sock, service):
    """The cleartext part of a STARTTLS service, up to the server's go-ahead."""
    if STARTTLS.get(service) == "smtp":
        assert smtp_reply(sock).startswith(b"220 ")
        sock.sendall(b"EHLO client.example.net\r\n")
        assert b"STARTTLS" in smtp_reply(sock)
        sock.sendall(b"STARTTLS\r\n")
        assert smtp_reply(sock).startswith(b"220 ")
    elif STARTTLS.get(service) == "imap":
        assert read_line(sock).startswith(b"* OK")
        sock.sendall(b"a STARTTLS\r\n")
        assert read_line(sock).startswith(b"a OK")


def handshake(suite, service, context):
    """(protocol, cipher) of a TLS session with service, or the ssl.SSLError that refused it."""
    with socket.create_connection(("127.0.0.1", suite.ports[service]), timeout=20) as sock:
        plain_to_tls(sock, service)
        try:
            with context.wrap_socket(sock) as tls:
                return tls.version(), tls.cipher()[0]
        except ssl.SSLError as error:
            return error


def accepted_suites(suite, service):
    """The TLS 1.2 suites of PROBED_SUITES that service accepts, offered one at a time."""
    accepted = set()
    for name in PROBED_SUITES:
        result = handshake(suite, service, client_context(ssl.TLSVersion.TLSv1_2, name))
        if not isinstance(result, ssl.SSLError):
            assert result == ("TLSv1.2", name), (service, name, result)
            accepted.add(name)
    return accepted


def s_client(suite, service, *args):
    """openssl s_client against service (as in docs/testing.md); its CompletedProcess."""
    command = ["openssl", "s_client", "-brief", "-connect", f"127.0.0.1:{suite.ports[service]}"]
    if service in STARTTLS:
        command += ["-starttls", STARTTLS[service]]
    return subprocess.run(command + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=30)


def assert_default_offer(suite, service):
    refused = handshake(suite, service, client_context(ssl.TLSVersion.TLSv1_2, CBC_ONLY))
    assert isinstance(refused, ssl.SSLError), (service, refused)
    assert "HANDSHAKE_FAILURE" in str(refused).upper(), (service, refused)  # an alert, not EOF
    assert handshake(suite, service, client_context())[0] == "TLSv1.3", service
    version, cipher = handshake(suite, service, client_context(ssl.TLSVersion.TLSv1_2))
    assert version == "TLSv1.2" and cipher in DEFAULT_RSA_SUITES, (service, version, cipher)
    assert accepted_suites(suite, service) == DEFAULT_RSA_SUITES, service


def test_shipped_default_refuses_cbc_only_clients():
    with Suite(shipped=True) as suite:
        for service in SERVICES:
            assert_default_offer(suite, service)
        # The command lines of docs/testing.md, with the client the issue used.
        for service in ("smtp", "submission", "submissions"):
            cbc = s_client(suite, service, "-tls1_2", "-cipher", CBC_ONLY)
            assert cbc.returncode != 0, (service, cbc.stdout, cbc.stderr)
            assert "alert handshake failure" in cbc.stderr, (service, cbc.stderr)
            good = s_client(suite, service, "-tls1_2")
            assert good.returncode == 0, (service, good.stderr)
            assert "Protocol version: TLSv1.2" in good.stderr, good.stderr
            assert "Ciphersuite: ECDHE-RSA-AES" in good.stderr, good.stderr
            assert "GCM" in good.stderr, good.stderr
        log = suite.log()
        for process in ("smtpd", "submission", "imapd"):
            assert any(f"postern/{process}[" in line and "no shared cipher" in line
                       for line in log.splitlines()), (process, log[-3000:])
        assert "fatal" not in log and "panic" not in log, log[-3000:]


def test_other_list_changes_the_offer_and_sighup_restores_the_default():
    custom = "ECDHE-RSA-AES256-SHA:ECDHE-RSA-CHACHA20-POLY1305"
    with Suite(main_cf_extra=f"smtpd_tls_cipherlist = {custom}") as suite:
        for service in SERVICES:
            assert accepted_suites(suite, service) == {"ECDHE-RSA-AES256-SHA",
                                                       "ECDHE-RSA-CHACHA20-POLY1305"}, service
            result = handshake(suite, service, client_context(ssl.TLSVersion.TLSv1_2, CBC_ONLY))
            assert result == ("TLSv1.2", "ECDHE-RSA-AES256-SHA"), (service, result)
            # TLS 1.3 keeps OpenSSL's suites whatever the list says.
            assert handshake(suite, service, client_context())[0] == "TLSv1.3", service

        suite.write_main_cf("")  # the default list again
        suite.reload()

        def default_again(service):
            result = handshake(suite, service, client_context(ssl.TLSVersion.TLSv1_2, CBC_ONLY))
            return isinstance(result, ssl.SSLError)
        for service in SERVICES:
            wait_until(lambda: default_again(service), 20, 0.1, f"{service}: the default list")
            assert_default_offer(suite, service)


def master_check(suite):
    return subprocess.run(suite.master_command()[:-1] + ["-t"], capture_output=True, text=True,
                          timeout=30)


def test_bad_list_is_a_config_error():
    cases = [
        ("NO-SUCH-CIPHER", '"NO-SUCH-CIPHER" selects no TLS 1.2 cipher'),
        # OpenSSL alone would drop the misspelt name and go on with the rest.
        ("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA348",
         '"ECDHE-RSA-AES256-GCM-SHA348" selects no TLS 1.2 cipher'),
        ("TLS_AES_128_GCM_SHA256", "TLS 1.3 suites are not chosen here"),
        ("ECDHE+AESGCM:!AESGCM", "leaves no TLS 1.2 cipher"),
        ("", "smtpd_tls_cipherlist is empty"),
    ]
    for value, expected in cases:
        with Suite(start=False, main_cf_extra=f"smtpd_tls_cipherlist = {value}") as suite:
            checked = master_check(suite)
            assert checked.returncode != 0, (value, checked)
            assert "main.cf: smtpd_tls_cipherlist" in checked.stderr, checked.stderr
            assert expected in checked.stderr, (value, checked.stderr)
            started = subprocess.run(suite.master_command(), capture_output=True, text=True,
                                     timeout=30)
            assert started.returncode != 0 and expected in started.stderr, (value, started)
            assert "Segmentation" not in started.stderr and "panic" not in started.stderr
            assert not suite.worker_pids(any_parent=True), "a worker was started anyway"

    # A per-service override in master.cf is checked as well, with its line.
    with Suite(start=False) as suite:
        services = suite.default_services()
        services[0] += " -o smtpd_tls_cipherlist=ECDHE-RSA-AES128-GCM-SHA257"
        suite.write_master_cf(services)
        checked = master_check(suite)
        assert checked.returncode != 0, checked
        assert "master.cf:2: service" in checked.stderr, checked.stderr
        assert '"ECDHE-RSA-AES128-GCM-SHA257" selects no TLS 1.2 cipher' in checked.stderr

    # At SIGHUP: the reload is refused and the workers keep the list they have.
    with Suite() as suite:
        before = sorted(wait_until(lambda: suite.worker_pids("smtpd"), 20, what="smtpd"))
        suite.write_main_cf("smtpd_tls_cipherlist = ECDHE-RSA-AES128-GCM-SHA257")
        suite.reload()
        wait_until(lambda: "reload failed" in suite.log(), 20, what="reload failure logged")
        failure = [line for line in suite.log().splitlines() if "reload failed" in line][0]
        assert "smtpd_tls_cipherlist" in failure and "SHA257" in failure, failure
        assert suite.process.poll() is None, "master exited on a refused reload"
        assert sorted(suite.worker_pids("smtpd")) == before, "workers restarted anyway"
        for service in SERVICES:
            assert handshake(suite, service, client_context())[0] == "TLSv1.3", service


if __name__ == "__main__":
    postern_harness.run_tests([
        test_shipped_default_refuses_cbc_only_clients,
        test_other_list_changes_the_offer_and_sighup_restores_the_default,
        test_bad_list_is_a_config_error,
    ])
