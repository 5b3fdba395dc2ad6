"""testssl.sh (Debian's testssl.sh package) as a real peer against the shipped main.cf, on the
two ports the issue scanned: submission 465 (TLS from the first byte) and 587 (--starttls smtp).
It must find TLS 1.2 and 1.3 only (no SSLv2, SSLv3, TLS 1.0 or 1.1), no LUCKY13 (no CBC suite),
and exactly the forward-secret AEAD TLS 1.2 suites of smtpd_tls_cipherlist that an RSA
certificate can use. One scan per port with --fast --protocols --cipher-per-proto -L, read from
its JSON: 12 to 20 s a port on two cores shared with other work (testssl.sh's own start-up is
most of it; 40 to 130 s when a third port was scanned too, so smtpd's port 25, the same TLS
code, is left to tests/protocol/test_tls_ciphers.py and to the command in docs/testing.md).
Skipped, saying so, when testssl is not installed (scripts/install-deps installs it).
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

import postern_harness
from postern_harness import Suite, skip_test

# The TLS 1.2 suites of the default smtpd_tls_cipherlist an RSA certificate can use.
EXPECTED_TLS12 = {
    "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305",
}
NOT_OFFERED = ("SSLv2", "SSLv3", "TLS1", "TLS1_1")


def testssl(port, starttls, out_dir):
    """Runs one scan; returns its JSON findings as {id: finding} and [(id, finding)] of ciphers."""
    json_path = os.path.join(out_dir, f"testssl-{port}.json")
    command = ["testssl", "--quiet", "--fast", "--nodns", "none", "--warnings", "batch",
               "--color", "0", "--protocols", "--cipher-per-proto", "-L", "--jsonfile",
               json_path]
    if starttls:
        command += ["--starttls", starttls]
    command.append(f"127.0.0.1:{port}")
    started = time.monotonic()
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=300)
    print(f"  testssl 127.0.0.1:{port} {starttls or 'TLS'}: {time.monotonic() - started:.0f}s")
    assert os.path.exists(json_path), result.stdout[-3000:] + result.stderr[-3000:]
    with open(json_path) as f:
        findings = json.load(f)
    by_id = {item["id"]: item["finding"] for item in findings}
    ciphers = [(item["id"], item["finding"]) for item in findings
               if item["id"].startswith("cipher-")]
    return by_id, ciphers, result.stdout


def check_scan(name, by_id, ciphers, text):
    for protocol in NOT_OFFERED:
        assert by_id.get(protocol, "").startswith("not offered"), (name, protocol, by_id)
    assert by_id.get("TLS1_2", "").startswith("offered"), (name, by_id)
    assert by_id.get("TLS1_3", "").startswith("offered"), (name, by_id)
    assert by_id.get("LUCKY13", "").startswith("not vulnerable"), (name, by_id.get("LUCKY13"))
    tls12 = set()
    for cipher_id, finding in ciphers:
        # "TLS 1.2   xc02f   ECDHE-RSA-AES128-GCM-SHA256   ECDH 253   AESGCM   128   TLS_..."
        words = finding.split()
        assert cipher_id.startswith(("cipher-tls1_2_", "cipher-tls1_3_")), (name, cipher_id)
        encryption = words[6]
        assert encryption in ("AESGCM", "CHACHA20"), (name, finding)
        assert words[4] in ("ECDH", "DH"), (name, finding)  # forward secrecy
        if cipher_id.startswith("cipher-tls1_2_"):
            tls12.add(words[3])
    assert tls12 == EXPECTED_TLS12, (name, sorted(tls12), text[-3000:])


def test_testssl_finds_modern_tls_only():
    if shutil.which("testssl") is None:
        skip_test("testssl (Debian package testssl.sh) is not installed")
    out_dir = tempfile.mkdtemp(prefix="postern-testssl-")
    try:
        with Suite(shipped=True) as suite:
            for service, starttls in (("submissions", None), ("submission", "smtp")):
                by_id, ciphers, text = testssl(suite.ports[service], starttls, out_dir)
                check_scan(service, by_id, ciphers, text)
            assert "fatal" not in suite.log() and "panic" not in suite.log()
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    postern_harness.run_tests([test_testssl_finds_modern_tls_only])
