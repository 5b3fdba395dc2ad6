"""`postern dkim keygen|rotate|list|remove` (postern(8)) on a suite's configuration, not started:
the commands work on the key folder the milter reads.

- keygen rsa and ed25519: the key lands in $config_directory/dkim/DOMAIN/SELECTOR.key, PKCS#8
  PEM, 0600 in 0700 folders, owned by mail_owner when run as root; the default selector is
  <type>-<YYYYMMDD> (UTC), then <type>-<YYYYMMDD>-2; the record printed (zone syntax, strings of
  at most 255 bytes) holds the private key's public half, as `openssl pkey -pubout` (a reader
  independent of ours) derives it; --bits 1024 is taken.
- keygen refuses to overwrite (exit 1, the key unchanged); a domain that is not ours: exit 3
  unless --force; dkim_key_directory set in main.cf is where the keys go.
- usage errors exit 2 and write nothing: hostile domains and selectors (.., /), an unknown type,
  --bits 1023 and 4097, --bits with ed25519, a missing or extra operand, an option the action
  does not take.
- rotate: a new key for each type the domain signs with, the old ones moved to retired/;
  list --json shows both states; remove deletes retired keys only (a signing one needs --force;
  an unknown one is exit 3); as nobody keygen and remove exit 6.
"""
import base64
import datetime
import json
import os
import pwd
import re
import stat
import subprocess

from postern_harness import BIN_DIR, TEST_DOMAIN, Suite, run_tests

POSTERN = os.path.join(BIN_DIR, "postern")


def cli(suite, *args, user=None):
    command = [POSTERN, "-c", suite.etc, *args]
    if user:
        command = ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}",
                   "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")


def record_of(output, selector, domain=TEST_DOMAIN):
    """The TXT text of selector's record in output: its zone line's strings, joined."""
    name = re.escape(f"{selector}._domainkey.{domain}.")
    line = re.search(rf"^{name} 3600 IN TXT (.*)$", output, re.M)
    assert line, (selector, output)
    strings = re.findall(r'"((?:[^"\\]|\\.)*)"', line.group(1))
    assert strings and " ".join(f'"{s}"' for s in strings) == line.group(1), line.group(1)
    for piece in strings:
        assert len(piece.encode()) <= 255, len(piece)
    return "".join(strings)


def openssl_public_der(path):
    return subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                          capture_output=True, check=True, timeout=30).stdout


def check_record_matches_key(record, path):
    tags = dict(part.strip().split("=", 1) for part in record.split(";"))
    assert tags["v"] == "DKIM1", record
    der = openssl_public_der(path)
    public = base64.b64decode(tags["p"], validate=True)
    if tags["k"] == "rsa":
        assert public == der, record  # the whole SubjectPublicKeyInfo (RFC 6376 3.6.1)
    else:
        assert tags["k"] == "ed25519", record
        assert len(public) == 32 and der.endswith(public), record  # the bare key (RFC 8463)


def check_key_file(suite, path, type_name):
    info = os.stat(path)
    assert stat.S_IMODE(info.st_mode) == 0o600, oct(info.st_mode)
    for folder in (os.path.dirname(path), os.path.dirname(os.path.dirname(path))):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, folder
    if os.geteuid() == 0:
        owner = pwd.getpwnam(suite.mail_owner)
        for each in (path, os.path.dirname(path)):
            assert (os.stat(each).st_uid, os.stat(each).st_gid) == (owner.pw_uid, owner.pw_gid)
    with open(path) as f:
        assert f.read().startswith("-----BEGIN PRIVATE KEY-----\n"), path  # PKCS#8
    text = subprocess.run(["openssl", "pkey", "-in", path, "-noout", "-text"], capture_output=True,
                          text=True, check=True, timeout=30).stdout
    expected = "ED25519 Private-Key" if type_name == "ed25519" else "publicExponent"
    assert expected in text, text[:200]


def test_keygen_rsa_and_ed25519():
    with Suite(start=False) as suite:
        keys = os.path.join(suite.etc, "dkim", TEST_DOMAIN)
        done = cli(suite, "dkim", "keygen", TEST_DOMAIN)
        assert done.returncode == 0, done
        day = today()
        path = os.path.join(keys, f"rsa-{day}.key")
        assert path in done.stdout, done.stdout
        check_key_file(suite, path, "rsa")
        record = record_of(done.stdout, f"rsa-{day}")
        check_record_matches_key(record, path)
        assert "k=rsa" in record and "2048 bits" in done.stdout, done.stdout

        done = cli(suite, "dkim", "keygen", TEST_DOMAIN.upper(), "--type", "ed25519")
        assert done.returncode == 0, done
        ed_path = os.path.join(keys, f"ed25519-{day}.key")
        check_key_file(suite, ed_path, "ed25519")
        check_record_matches_key(record_of(done.stdout, f"ed25519-{day}"), ed_path)

        # The same day again: -2; an explicit selector and size.
        done = cli(suite, "dkim", "keygen", TEST_DOMAIN, "--type=ed25519")
        assert done.returncode == 0 and f"ed25519-{day}-2" in done.stdout, done
        done = cli(suite, "dkim", "keygen", TEST_DOMAIN, "--selector", "small", "--bits", "1024")
        assert done.returncode == 0 and "1024 bits" in done.stdout, done
        small = os.path.join(keys, "small.key")
        check_record_matches_key(record_of(done.stdout, "small"), small)
        assert sorted(os.listdir(keys)) == sorted(
            [f"rsa-{day}.key", f"ed25519-{day}.key", f"ed25519-{day}-2.key", "small.key"])


def test_keygen_refusals():
    with Suite(start=False) as suite:
        keys = os.path.join(suite.etc, "dkim", TEST_DOMAIN)
        assert cli(suite, "dkim", "keygen", TEST_DOMAIN, "--selector", "s1",
                   "--type", "ed25519").returncode == 0
        with open(os.path.join(keys, "s1.key")) as f:
            before = f.read()
        again = cli(suite, "dkim", "keygen", TEST_DOMAIN, "--selector", "s1")
        assert again.returncode == 1 and "exists already" in again.stderr, again
        with open(os.path.join(keys, "s1.key")) as f:
            assert f.read() == before
        assert os.listdir(keys) == ["s1.key"], os.listdir(keys)  # no temporary file left

        other = cli(suite, "dkim", "keygen", "not-ours.example", "--type", "ed25519")
        assert other.returncode == 3 and "not-ours.example" in other.stderr, other
        assert not os.path.exists(os.path.join(suite.etc, "dkim", "not-ours.example"))
        forced = cli(suite, "dkim", "keygen", "not-ours.example", "--type", "ed25519", "--force")
        assert forced.returncode == 0, forced
        # mydestination names a domain of ours too (here $myhostname).
        host = cli(suite, "dkim", "keygen", "mx.example.test", "--type", "ed25519")
        assert host.returncode == 0, host

        usage = [
            ["keygen", "../escape"], ["keygen", "a/b"], ["keygen", ".."], ["keygen", ""],
            ["keygen", "example..test"], ["keygen", "-x.example"],
            ["keygen", TEST_DOMAIN, "--selector", "../../escape"],
            ["keygen", TEST_DOMAIN, "--selector", "a/b"],
            ["keygen", TEST_DOMAIN, "--selector", "a.b"],
            ["keygen", TEST_DOMAIN, "--selector", "x" * 64],
            ["keygen", TEST_DOMAIN, "--type", "dsa"], ["keygen", TEST_DOMAIN, "--type", "RSA2"],
            ["keygen", TEST_DOMAIN, "--bits", "1023"], ["keygen", TEST_DOMAIN, "--bits", "4097"],
            ["keygen", TEST_DOMAIN, "--bits", "2048x"], ["keygen", TEST_DOMAIN, "--bits", ""],
            ["keygen", TEST_DOMAIN, "--type", "ed25519", "--bits", "2048"],
            ["keygen"], ["keygen", TEST_DOMAIN, "extra"], ["rotate", TEST_DOMAIN, "--selector", "x"],
            ["remove", TEST_DOMAIN], ["remove", TEST_DOMAIN, "../s1"], ["list", "--type", "rsa"],
            ["frobnicate"], [],
        ]
        for args in usage:
            done = cli(suite, "dkim", *args)
            assert done.returncode == 2, (args, done)
            assert "usage: postern" in done.stderr, (args, done.stderr)
        assert sorted(os.listdir(os.path.join(suite.etc, "dkim"))) == sorted(
            [TEST_DOMAIN, "not-ours.example", "mx.example.test"])
        assert os.listdir(keys) == ["s1.key"]
        assert not os.path.exists(os.path.join(suite.root, "escape"))
        assert not os.path.exists(os.path.join(suite.etc, "escape"))

        # dkim_key_directory in main.cf decides where the keys go.
        elsewhere = os.path.join(suite.root, "keys-elsewhere")
        suite.write_main_cf(f"dkim_key_directory = {elsewhere}\n")
        done = cli(suite, "dkim", "keygen", TEST_DOMAIN, "--selector", "s9", "--type", "ed25519")
        assert done.returncode == 0, done
        assert os.path.isfile(os.path.join(elsewhere, TEST_DOMAIN, "s9.key"))
        assert not os.path.exists(os.path.join(keys, "s9.key"))

        if os.geteuid() == 0:
            for args in (["keygen", TEST_DOMAIN, "--type", "ed25519"],
                         ["rotate", TEST_DOMAIN], ["remove", TEST_DOMAIN, "s9"]):
                denied = cli(suite, "dkim", *args, user="nobody")
                assert denied.returncode == 6, (args, denied)
            assert os.listdir(os.path.join(elsewhere, TEST_DOMAIN)) == ["s9.key"]


def test_rotate_list_remove():
    with Suite(start=False) as suite:
        keys = os.path.join(suite.etc, "dkim", TEST_DOMAIN)
        nothing = cli(suite, "dkim", "rotate", TEST_DOMAIN)
        assert nothing.returncode == 3 and "keygen" in nothing.stderr, nothing
        assert cli(suite, "dkim", "list").returncode == 0
        assert json.loads(cli(suite, "dkim", "list", "--json").stdout) == []

        assert cli(suite, "dkim", "keygen", TEST_DOMAIN, "--selector", "old-rsa",
                   "--bits", "1024").returncode == 0
        assert cli(suite, "dkim", "keygen", TEST_DOMAIN, "--selector", "old-ed",
                   "--type", "ed25519").returncode == 0
        with open(os.path.join(keys, "old-rsa.key")) as f:
            old_rsa = f.read()
        done = cli(suite, "dkim", "rotate", TEST_DOMAIN)
        assert done.returncode == 0, done
        day = today()
        assert sorted(os.listdir(keys)) == sorted(
            ["retired", f"rsa-{day}.key", f"ed25519-{day}.key"]), os.listdir(keys)
        retired = os.path.join(keys, "retired")
        assert sorted(os.listdir(retired)) == ["old-ed.key", "old-rsa.key"]
        assert stat.S_IMODE(os.stat(retired).st_mode) == 0o700
        with open(os.path.join(retired, "old-rsa.key")) as f:
            assert f.read() == old_rsa  # moved, not rewritten
        assert "1024 bits" in done.stdout  # the new RSA key keeps the old one's size
        assert "Reminder" in done.stdout, done.stdout
        for selector in (f"rsa-{day}", f"ed25519-{day}"):
            check_record_matches_key(record_of(done.stdout, selector),
                                     os.path.join(keys, f"{selector}.key"))

        # Rotating one type only.
        done = cli(suite, "dkim", "rotate", TEST_DOMAIN, "--type", "ed25519")
        assert done.returncode == 0, done
        assert os.path.exists(os.path.join(keys, f"ed25519-{day}-2.key"))
        assert os.path.exists(os.path.join(retired, f"ed25519-{day}.key"))
        assert os.path.exists(os.path.join(keys, f"rsa-{day}.key"))

        listed = cli(suite, "dkim", "list", "--json")
        assert listed.returncode == 0, listed
        entries = {(e["selector"], e["state"], e["type"]) for e in json.loads(listed.stdout)}
        assert entries == {(f"rsa-{day}", "signing", "rsa"),
                           (f"ed25519-{day}-2", "signing", "ed25519"),
                           ("old-rsa", "retired", "rsa"), ("old-ed", "retired", "ed25519"),
                           (f"ed25519-{day}", "retired", "ed25519")}, entries
        for entry in json.loads(listed.stdout):
            assert entry["domain"] == TEST_DOMAIN
            assert entry["record_name"] == f"{entry['selector']}._domainkey.{TEST_DOMAIN}."
            check_record_matches_key(entry["record"], entry["path"])
        text = cli(suite, "dkim", "list", TEST_DOMAIN)
        assert text.returncode == 0 and text.stdout.count("\n") == 5, text.stdout

        # The dns command prints the records of the signing and the retired keys.
        dns = cli(suite, "dns", TEST_DOMAIN)
        assert dns.returncode == 0, dns
        for entry in json.loads(listed.stdout):
            assert record_of(dns.stdout, entry["selector"]) == entry["record"]

        removed = cli(suite, "dkim", "remove", TEST_DOMAIN, "old-rsa")
        assert removed.returncode == 0, removed
        assert not os.path.exists(os.path.join(retired, "old-rsa.key"))
        assert cli(suite, "dkim", "remove", TEST_DOMAIN, "old-rsa").returncode == 3
        signing = cli(suite, "dkim", "remove", TEST_DOMAIN, f"rsa-{day}")
        assert signing.returncode == 1 and "--force" in signing.stderr, signing
        assert os.path.exists(os.path.join(keys, f"rsa-{day}.key"))
        forced = cli(suite, "dkim", "remove", TEST_DOMAIN, f"rsa-{day}", "--force")
        assert forced.returncode == 0, forced
        assert not os.path.exists(os.path.join(keys, f"rsa-{day}.key"))
        assert cli(suite, "dkim", "remove", "other.example", "x").returncode == 3
        left = {e["selector"] for e in json.loads(cli(suite, "dkim", "list", "--json").stdout)}
        assert left == {f"ed25519-{day}-2", "old-ed", f"ed25519-{day}"}, left


if __name__ == "__main__":
    run_tests([test_keygen_rsa_and_ed25519, test_keygen_refusals, test_rotate_list_remove])
