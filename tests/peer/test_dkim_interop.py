#!/usr/bin/env python3
"""Peer test (issue 14): messages signed by lib/dkim (tests/support/dkim_tool, built from
postern_lib) verify with two other implementations: python3-dkim's `dkimverify` and OpenDKIM's
`opendkim-testmsg`. One RSA-2048 and one Ed25519 key, made here with openssl, each in the four
canonicalizations (simple/simple, simple/relaxed, relaxed/simple, relaxed/relaxed), over a
message with a folded header, runs of whitespace and trailing blank lines. Each signed message
must verify with both tools; the same message with one body byte changed after signing, and
with a signed header changed, must fail with both.

The other way round, messages signed by python3-dkim's `dkimsign` with the same keys (each
algorithm and canonicalization) verify with `dkim_tool verify` (our verifier, keys from a zone
file), and fail once a body byte is changed.

Both tools find keys through the system resolver. They run in a fresh network and mount
namespace (`unshare --net --mount`): loopback up, dnsmasq on 127.0.0.1:53 serving only this
test's TXT records, and a temporary resolv.conf naming it bind-mounted over /etc/resolv.conf in
that mount namespace only. Nothing leaves the namespace; the machine's resolv.conf is untouched.

Exits 77 (skip) with a message when a tool is missing or namespaces cannot be made (not root).
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

DOMAIN = "example.org"
CANONS = ("simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed")
TOOLS = ("dkimverify", "dkimsign", "opendkim-testmsg", "dnsmasq", "unshare", "ip", "openssl", "mount")
MESSAGE = (b"From: Alice Example <alice@example.org>\r\n"
           b"To: bob@example.net,\r\n"
           b"    carol@example.net\r\n"
           b"Subject: interop   check\r\n"
           b"\t folded subject\r\n"
           b"Date: Mon, 07 Dec 2026 20:00:00 +0000\r\n"
           b"Message-ID: <interop@example.org>\r\n"
           b"\r\n"
           b"Hello Bob,\r\n"
           b"\r\n"
           b"  indented,  with   runs of spaces \t\r\n"
           b"and a last line\r\n"
           b"\r\n"
           b"\r\n")


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def build_dir():
    return os.environ.get("POSTERN_BUILD_DIR") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "build")


def txt_strings(text):
    """A TXT record's text as quoted character-strings of at most 255 bytes (dnsmasq syntax)."""
    return ",".join(f'"{text[i:i + 255]}"' for i in range(0, len(text), 255))


def dns_query(name):
    """A one-question TXT query for name (RD set)."""
    wire = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", 16, 1)


def wait_for_dns(name, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.5)
            try:
                sock.sendto(dns_query(name), ("127.0.0.1", 53))
                reply, _ = sock.recvfrom(4096)
                if reply[:2] == b"\x12\x34" and struct.unpack("!H", reply[6:8])[0] > 0:
                    return
            except OSError:
                time.sleep(0.1)
    raise RuntimeError("dnsmasq did not answer on 127.0.0.1:53")


def inside(work):
    """Run in the new namespaces: DNS up, then every case through both verifiers."""
    with open(os.path.join(work, "cases.json")) as f:
        setup = json.load(f)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    dnsmasq = subprocess.Popen(["dnsmasq", "--keep-in-foreground", "--conf-file=" +
                                os.path.join(work, "dnsmasq.conf")])
    results = {}
    try:
        wait_for_dns(setup["names"][0])
        subprocess.run(["mount", "--bind", os.path.join(work, "resolv.conf"), "/etc/resolv.conf"],
                       check=True)
        for case in setup["cases"]:
            with open(case["file"], "rb") as f:
                crlf = f.read()
            dkimpy = subprocess.run(["dkimverify"], input=crlf, capture_output=True, timeout=60)
            opendkim = subprocess.run(["opendkim-testmsg"], input=crlf.replace(b"\r\n", b"\n"),
                                      capture_output=True, timeout=60)
            results[case["name"]] = {
                "dkimverify": dkimpy.returncode == 0 and b"signature ok" in dkimpy.stdout,
                "dkimverify_output": (dkimpy.stdout + dkimpy.stderr).decode(errors="replace"),
                "opendkim": opendkim.returncode == 0 and not opendkim.stdout.strip(),
                "opendkim_output": "rc %d: %s" % (opendkim.returncode,
                                                  (opendkim.stdout + opendkim.stderr).decode(
                                                      errors="replace")),
            }
    finally:
        dnsmasq.terminate()
        dnsmasq.wait(timeout=10)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f)
    return 0


def run(command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, **kwargs).stdout


def ed25519_seed_file(work, pem):
    """dkimsign's Ed25519 key file: the base64 of the 32-byte seed, which ends the PKCS#8 DER."""
    der = run(["openssl", "pkey", "-in", pem, "-outform", "DER"])
    path = os.path.join(work, "ed.seed")
    with open(path, "w") as f:
        f.write(base64.b64encode(der[-32:]).decode() + "\n")
    return path


def ours_verify_theirs(tool, work, keys):
    """Messages signed by dkimsign, checked by dkim_tool verify; returns the failures."""
    zone = os.path.join(work, "keys.zone")
    with open(zone, "w") as f:
        for selector, key in keys.items():
            record = run([tool, "record", "--key", key]).decode().strip()
            f.write(f'{selector}._domainkey.{DOMAIN}. IN TXT "{record}"\n')
    key_files = {"rsa": (keys["rsa"], "rsa-sha256"),
                 "ed": (ed25519_seed_file(work, keys["ed"]), "ed25519-sha256")}
    failures = 0
    for selector, (key_file, algorithm) in key_files.items():
        for canon in CANONS:
            header, body = canon.split("/")
            signed = run(["dkimsign", "--hcanon", header, "--bcanon", body, "--signalg", algorithm,
                          selector, DOMAIN, key_file], input=MESSAGE)
            for what, data, good in (("signed", signed, True),
                                     ("body changed",
                                      signed.replace(b"Hello Bob", b"Hello Rob"), False)):
                checked = subprocess.run([tool, "verify", "--zone", zone], input=data,
                                         capture_output=True)
                verdict = checked.returncode == 0
                line = checked.stdout.decode(errors="replace").strip()
                print(f"dkimsign {selector} {canon} {what}: dkim_tool verify {line}")
                if verdict != good or (good and f"header.a={algorithm}" not in line):
                    failures += 1
                    print(f"FAIL dkimsign {selector} {canon} {what}: expected "
                          f"{'pass' if good else 'fail'}")
    return failures


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        return inside(sys.argv[2])
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if missing:
        skip("not installed: " + ", ".join(missing) + " (scripts/install-deps)")
    if os.geteuid() != 0:
        skip("needs root for unshare --net --mount")
    tool = os.path.join(build_dir(), "bin", "dkim_tool")
    if not os.access(tool, os.X_OK):
        skip(f"{tool} is not built")
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        skip("cannot make namespaces here: " + probe.stderr.decode(errors="replace").strip())

    work = tempfile.mkdtemp(prefix="dkim-interop-")
    try:
        os.chmod(work, 0o755)
        keys = {"rsa": os.path.join(work, "rsa.pem"), "ed": os.path.join(work, "ed.pem")}
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", keys["rsa"]])
        run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", keys["ed"]])
        names = []
        conf = ["no-resolv", "no-hosts", "port=53", "listen-address=127.0.0.1",
                "bind-interfaces", "user=root", "pid-file=", "log-facility=-"]
        for selector, key in keys.items():
            record = run([tool, "record", "--key", key]).decode().strip()
            name = f"{selector}._domainkey.{DOMAIN}"
            names.append(name)
            conf.append(f"txt-record={name},{txt_strings(record)}")
        with open(os.path.join(work, "dnsmasq.conf"), "w") as f:
            f.write("\n".join(conf) + "\n")
        with open(os.path.join(work, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:2\n")

        cases = []
        for selector, key in keys.items():
            for canon in CANONS:
                signed = run([tool, "sign", "--key", key, "--domain", DOMAIN, "--selector",
                              selector, "--canon", canon], input=MESSAGE)
                variants = {
                    "signed": (signed, True),
                    "body changed": (signed.replace(b"Hello Bob", b"Hello Rob"), False),
                    "header changed": (signed.replace(b"<interop@", b"<intercept@"), False),
                }
                for what, (data, good) in variants.items():
                    case = f"{selector} {canon} {what}"
                    path = os.path.join(work, case.replace(" ", "_").replace("/", "-") + ".eml")
                    with open(path, "wb") as f:
                        f.write(data)
                    cases.append({"name": case, "file": path, "good": good})
        with open(os.path.join(work, "cases.json"), "w") as f:
            json.dump({"names": names, "cases": cases}, f)

        inner = subprocess.run(["unshare", "--net", "--mount", "--propagation", "private",
                                sys.executable, os.path.abspath(__file__), "--inside", work],
                               capture_output=True, timeout=900)
        if inner.returncode != 0:
            print(inner.stdout.decode(errors="replace"), inner.stderr.decode(errors="replace"))
            print("FAIL: the namespace run failed")
            return 1
        with open(os.path.join(work, "results.json")) as f:
            results = json.load(f)
        failures = 0
        for case in cases:
            got = results[case["name"]]
            print(f"{case['name']}: dkimverify {'pass' if got['dkimverify'] else 'fail'}, "
                  f"opendkim-testmsg {'pass' if got['opendkim'] else 'fail'}")
            for verifier in ("dkimverify", "opendkim"):
                if got[verifier] != case["good"]:
                    failures += 1
                    print(f"FAIL {case['name']}: {verifier} says "
                          f"{'pass' if got[verifier] else 'fail'}, expected "
                          f"{'pass' if case['good'] else 'fail'}: "
                          f"{got[verifier + '_output']!r}")
        print(f"{len(cases)} messages, 2 verifiers each, {failures} failures")
        return 1 if (failures + ours_verify_theirs(tool, work, keys)) else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
