"""`postern dns DOMAIN [--json]` (postern(8)) on a suite's configuration, not started.

- The text output is a zone fragment: wrapped in an SOA and NS, it loads with named-checkzone
  (bind9-utils; without it, a strict check here: every line a comment, blank, or
  "absolute-name 3600 IN TYPE data" with TXT data made only of quoted strings of at most 255
  bytes), and named-compilezone's canonical dump of it holds exactly the --json records.
- The records: MX to $myhostname, SPF "v=spf1 mx -all" (with a comment about the provider's
  record only when relayhost is set), one DKIM TXT per key (signing and retired, the record of
  the key file, checked with openssl), DMARC p=none with rua to postmaster, _mta-sts with an id
  that is the SHA-256 of the policy text (so it changes with myhostname) and the policy itself
  with its URL, TLS-RPT, the RFC 6186 SRV records (587, 465, 143, 993 on $myhostname; POP3 "0 0
  0 ."), the autoconfig and autodiscover CNAMEs.
- Without keys: no DKIM record, a comment saying how to make one. A bad or missing domain:
  exit 2.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

from postern_harness import BIN_DIR, TEST_DOMAIN, Suite, run_tests

POSTERN = os.path.join(BIN_DIR, "postern")
HOST = "mx.example.test"  # the harness's myhostname, inside TEST_DOMAIN
RECORD_LINE = re.compile(r"^(\S+\.) 3600 IN (MX|TXT|SRV|CNAME) (.+)$")
QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def cli(suite, *args):
    return subprocess.run([POSTERN, "-c", suite.etc, *args], capture_output=True, text=True,
                          timeout=120)


def unescape(text):
    return re.sub(r"\\(.)", r"\1", text)


def parse_zone(text):
    """[(name, type, value)] of the records in text, checked strictly line by line; TXT values
    are the strings joined."""
    records = []
    for line in text.splitlines():
        if line == "" or line.startswith("; "):
            continue
        match = RECORD_LINE.match(line)
        assert match, f"not a zone record line: {line!r}"
        name, rtype, data = match.groups()
        assert name.endswith(".") and ".." not in name, name
        if rtype == "TXT":
            strings = QUOTED.findall(data)
            assert strings and " ".join(f'"{s}"' for s in strings) == data, data
            for piece in strings:
                assert len(unescape(piece).encode()) <= 255, (name, len(piece))
            data = "".join(unescape(s) for s in strings)
        records.append((name, rtype, data))
    return records


def check_loads_as_zone(text):
    """named-checkzone on the fragment in a zone of its own; returns the canonical records
    named-compilezone dumps (None without bind9-utils)."""
    if shutil.which("named-checkzone") is None:
        return None
    zone = (f"$ORIGIN {TEST_DOMAIN}.\n$TTL 3600\n"
            f"@ IN SOA ns1.{TEST_DOMAIN}. hostmaster.{TEST_DOMAIN}. 1 7200 900 1209600 300\n"
            f"@ IN NS ns1.{TEST_DOMAIN}.\nns1 IN A 192.0.2.53\nmx IN A 192.0.2.25\n"
            "mail2 IN A 192.0.2.26\n") + text
    with tempfile.NamedTemporaryFile("w", suffix=".zone") as f:
        f.write(zone)
        f.flush()
        checked = subprocess.run(["named-checkzone", "-k", "fail", "-n", "fail", "-m", "fail",
                                  "-M", "fail", "-S", "fail", "-r", "fail", TEST_DOMAIN, f.name],
                                 capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, (checked.stdout, checked.stderr, zone)
        dumped = subprocess.run(["named-compilezone", "-q", "-o", "-", TEST_DOMAIN, f.name],
                                capture_output=True, text=True, timeout=60, check=True).stdout
    canonical = set()
    for line in dumped.splitlines():
        fields = line.split(None, 4)
        if len(fields) == 5 and fields[3] in ("MX", "TXT", "SRV", "CNAME"):
            data = fields[4]
            if fields[3] == "TXT":
                data = "".join(unescape(s) for s in QUOTED.findall(data))
            canonical.add((fields[0], fields[3], " ".join(data.split())
                           if fields[3] != "TXT" else data))
    return canonical


def dns(suite, domain=TEST_DOMAIN):
    text = cli(suite, "dns", domain)
    assert text.returncode == 0, text
    as_json = cli(suite, "dns", domain, "--json")
    assert as_json.returncode == 0, as_json
    document = json.loads(as_json.stdout)
    records = parse_zone(text.stdout)
    assert records == [(r["name"], r["type"], r["value"]) for r in document["records"]], (
        records, document)
    for record in document["records"]:
        if record["type"] == "TXT":
            assert "".join(record["strings"]) == record["value"]
            assert all(len(s.encode()) <= 255 for s in record["strings"])
    canonical = check_loads_as_zone(text.stdout)
    if canonical is not None:
        assert canonical == {(n, t, v) for n, t, v in records}, (canonical, records)
    return text.stdout, document


def only(document, name, rtype):
    found = [r for r in document["records"] if r["name"] == name and r["type"] == rtype]
    assert len(found) == 1, (name, rtype, document["records"])
    return found[0]


def test_records_of_a_domain():
    with Suite(start=False) as suite:
        text, document = dns(suite)
        d = TEST_DOMAIN
        assert document["domain"] == d
        assert only(document, f"{d}.", "MX")["value"] == f"10 {HOST}."
        spf = only(document, f"{d}.", "TXT")
        assert spf["value"] == "v=spf1 mx -all" and "relayhost" not in spf["comment"], spf
        assert not [r for r in document["records"] if "._domainkey." in r["name"]]
        assert f"postern dkim keygen {d}" in text
        dmarc = only(document, f"_dmarc.{d}.", "TXT")
        assert dmarc["value"] == f"v=DMARC1; p=none; rua=mailto:postmaster@{d}", dmarc
        assert "p=quarantine" in dmarc["comment"]
        assert only(document, f"_smtp._tls.{d}.", "TXT")["value"] == (
            f"v=TLSRPTv1; rua=mailto:postmaster@{d}")

        policy = document["mta_sts_policy"]
        assert policy["url"] == f"https://mta-sts.{d}/.well-known/mta-sts.txt"
        assert policy["text"] == (f"version: STSv1\nmode: testing\nmx: {HOST}\n"
                                  "max_age: 604800\n"), policy
        sts = only(document, f"_mta-sts.{d}.", "TXT")["value"]
        assert sts == "v=STSv1; id=" + hashlib.sha256(policy["text"].encode()).hexdigest()[:32]
        assert policy["url"] in text
        for line in policy["text"].splitlines():
            assert f";   {line}\n" in text, line  # the policy file, as comment lines to copy

        expected_srv = {"_submission": f"0 1 587 {HOST}.", "_submissions": f"0 1 465 {HOST}.",
                        "_imap": f"0 1 143 {HOST}.", "_imaps": f"0 1 993 {HOST}.",
                        "_pop3": "0 0 0 .", "_pop3s": "0 0 0 ."}
        for service, value in expected_srv.items():
            assert only(document, f"{service}._tcp.{d}.", "SRV")["value"] == value, service
        for name in ("autoconfig", "autodiscover"):
            assert only(document, f"{name}.{d}.", "CNAME")["value"] == f"{HOST}."
        assert len(document["records"]) == 13, document["records"]

        # relayhost set: a comment about the provider's SPF; another host: another policy id.
        suite.write_main_cf("relayhost = [smtp.provider.example]:587\n"
                            "myhostname = mail2.example.test\n")
        text2, document2 = dns(suite)
        spf = only(document2, f"{d}.", "TXT")
        assert "[smtp.provider.example]:587" in spf["comment"] and "include:" in spf["comment"]
        assert "[smtp.provider.example]:587" in text2
        assert only(document2, f"{d}.", "MX")["value"] == "10 mail2.example.test."
        assert only(document2, f"_mta-sts.{d}.", "TXT")["value"] != sts
        assert "mx: mail2.example.test\n" in document2["mta_sts_policy"]["text"]


def test_dkim_records_and_zone():
    with Suite(start=False) as suite:
        for args in (["--selector", "big", "--bits", "4096"], ["--selector", "ed", "--type",
                                                                "ed25519"]):
            assert cli(suite, "dkim", "keygen", TEST_DOMAIN, *args).returncode == 0
        assert cli(suite, "dkim", "rotate", TEST_DOMAIN, "--type", "ed25519").returncode == 0
        text, document = dns(suite)
        dkim = {r["name"]: r for r in document["records"] if "._domainkey." in r["name"]}
        keys = os.path.join(suite.etc, "dkim", TEST_DOMAIN)
        new_ed = [n[:-4] for n in os.listdir(keys) if n.startswith("ed25519-")]
        assert len(new_ed) == 1, os.listdir(keys)
        assert set(dkim) == {f"big._domainkey.{TEST_DOMAIN}.", f"ed._domainkey.{TEST_DOMAIN}.",
                             f"{new_ed[0]}._domainkey.{TEST_DOMAIN}."}, set(dkim)
        assert "retired" in dkim[f"ed._domainkey.{TEST_DOMAIN}."]["comment"]
        assert f"postern dkim remove {TEST_DOMAIN} ed" in text
        # A 4096-bit key's record does not fit one string: several, each <= 255 bytes.
        big = dkim[f"big._domainkey.{TEST_DOMAIN}."]
        assert len(big["strings"]) >= 3, big
        der = subprocess.run(["openssl", "pkey", "-in", os.path.join(keys, "big.key"), "-pubout",
                              "-outform", "DER"], capture_output=True, check=True).stdout
        assert big["value"] == "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
        for selector, path in ((new_ed[0], os.path.join(keys, f"{new_ed[0]}.key")),
                               ("ed", os.path.join(keys, "retired", "ed.key"))):
            der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                                 capture_output=True, check=True).stdout
            value = dkim[f"{selector}._domainkey.{TEST_DOMAIN}."]["value"]
            assert value == "v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:]).decode()


def test_usage_errors():
    with Suite(start=False) as suite:
        for args in ([], ["../etc"], ["a/b"], ["example..test"], [TEST_DOMAIN, "extra"],
                     [TEST_DOMAIN, "--bogus"], ["-x.example"]):
            done = cli(suite, "dns", *args)
            assert done.returncode == 2, (args, done)
            assert "usage: postern" in done.stderr and done.stdout == "", (args, done)
        upper = cli(suite, "dns", TEST_DOMAIN.upper())
        assert upper.returncode == 0 and f"_dmarc.{TEST_DOMAIN}." in upper.stdout, upper


if __name__ == "__main__":
    run_tests([test_records_of_a_domain, test_dkim_records_and_zone, test_usage_errors])
