"""The authentication milters for bench/smtp-inbound (issue 14): postern-authmilter beside
OpenDKIM + OpenDMARC, verifying inbound mail and signing outgoing mail, on the same messages.

Run by bench/smtp-inbound (`--milter auth-verify,auth-sign`, or `--auth-milter`) and, for
AuthSign's key and OpenDKIM only, by bench/smtp-relay/run --dkim-sign; as root.
Two settings, each an object that the bench's Postern and Postfix runners ask for their
main.cf lines, their extra services, the message file smtp-source sends (-F) and, after a run,
a sample check that the milters really did the work:

  auth-verify  Mail from a stranger on port 25: bench@sender.test, from 127.0.0.1, a 4 KiB
               message signed once (rsa-sha256, relaxed/relaxed, python3-dkim) with a key made
               by `postern dkim keygen`. The DNS server below serves its DKIM key, the SPF
               record `v=spf1 ip4:127.0.0.1 -all` and `v=DMARC1; p=reject` for sender.test.
               Postern: postern-authmilter from master.cf (unix:private/authmilter), mynetworks
               empty so loopback is a stranger. Postfix: OpenDKIM in verify mode, then
               OpenDMARC (its own SPF check), both as smtpd_milters on Unix sockets (as
               Debian ships them; over inet:127.0.0.1 Postfix lost a third of its rate here,
               see docs/BENCHMARKS.md). The sample check wants dkim=pass and dmarc=pass in
               the Authentication-Results of both.
  auth-sign    Mail of ours: bench@example.test from 127.0.0.1 with mynetworks = 127.0.0.0/8 (no
               AUTH: port 25 from mynetworks, which authmilter signs too), an unsigned 4 KiB
               message. Postern signs with one rsa-2048 key (`postern dkim keygen`, selector
               bench); Postfix's OpenDKIM signs with a copy of the same key, relaxed/relaxed as
               authmilter's default. The sample check verifies the DKIM-Signature with
               python3-dkim against the key's TXT record.

The DNS server is dnsmasq on 192.0.2.53:53, an address added to lo in a network namespace the
bench enters for these settings (enter_network_namespace: port 53, as the resolv.conf OpenDMARC
reads cannot name another port, and nothing of the machine's network is touched). It answers
only the bench's records, --local=/test/ for every other .test name, with a TTL of 300 s, so a
resolver cache may keep them: authmilter has one (authmilter_dns_cache_size); OpenDMARC has
none and asks for SPF and DMARC each message, through a resolv.conf bound over /etc/resolv.conf
in its own mount namespace (tests/harness/real_milters.py). OpenDKIM takes the one key record
from a file (TestDNSData) instead of DNS: Debian's OpenDKIM resolves through libunbound, which
here sent no query to the forwarder named in Nameservers, and crashed (milter connection reset)
with ResolverConfiguration + QueryCache. So OpenDKIM does no DNS per message, and authmilter
answers the key from its cache after the first: the same work on both sides.

Hostile input: none; everything here is made by this module. Limits: each start waits a bounded
time (DNS_START_SECONDS, START_SECONDS), the sample check reads at most SAMPLE_MESSAGES messages per
MTA, and every process started here is stopped by its own PID.
"""
import glob
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import postern_harness
from real_milters import MilterDaemon, OpenDmarc, import_dkim, which

DNS_HOST = "192.0.2.53"   # on lo, in the bench's own network namespace (enter_network_namespace)
DNS_PORT = 53
SENDER_DOMAIN = "sender.test"     # auth-verify: a stranger's domain
OUR_DOMAIN = "example.test"       # auth-sign: the bench's recipients' domain, signed for
SELECTOR = "bench"
POSTFIX_AUTHSERV_ID = "mx.postfix.test"
POSTERN_AUTHSERV_ID = "mx.example.test"   # the harness's myhostname, authmilter's default
SAMPLE_MESSAGES = 20      # delivered messages checked per MTA and run
BODY_LINE = "The quick brown fox jumps over the lazy dog, then checks its DKIM signature.\r\n"
DNSMASQ = "/usr/sbin/dnsmasq"
DNS_START_SECONDS = 10.0
START_SECONDS = 60.0      # for a milter's socket to accept


def enter_network_namespace(argv):
    """Re-runs the bench (argv) in a network namespace of its own, once: loopback up and
    DNS_HOST/32 added to its lo, so the DNS server can have port 53 without meeting a resolver
    of the machine's on 127.0.0.1:53 or 127.0.0.53:53. Everything else still talks over
    127.0.0.1. Returns only inside the namespace."""
    if os.environ.get("POSTERN_BENCH_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "addr", "add", f"{DNS_HOST}/32", "dev", "lo"], check=True)
        return
    env = dict(os.environ, POSTERN_BENCH_NETNS="1")
    done = subprocess.run([shutil.which("unshare") or "/usr/bin/unshare", "--net",
                           sys.executable, *argv], env=env)
    sys.exit(done.returncode)


def postern_keygen(directory, domain):
    """An rsa-2048 key for domain, selector SELECTOR, made by `postern dkim keygen` in
    directory/dkim (owned by the mail owner, as authmilter reads it). Returns (key file,
    TXT record text) as `postern dns --json` gives it."""
    postern = os.path.join(postern_harness.BIN_DIR, "postern")
    etc = os.path.join(directory, "etc")
    os.makedirs(etc, exist_ok=True)
    key_directory = os.path.join(directory, "dkim")
    with open(os.path.join(etc, "main.cf"), "w") as f:
        f.write(f"dkim_key_directory = {key_directory}\nmyhostname = {POSTERN_AUTHSERV_ID}\n")
    subprocess.run([postern, "-c", etc, "dkim", "keygen", domain, "--selector", SELECTOR,
                    "--type", "rsa", "--force"], check=True, capture_output=True, text=True,
                   timeout=60)
    listing = json.loads(subprocess.run([postern, "-c", etc, "dns", domain, "--json"],
                                        check=True, capture_output=True, text=True,
                                        timeout=60).stdout)
    name = f"{SELECTOR}._domainkey.{domain}."
    texts = [r["value"] for r in listing["records"] if r["type"] == "TXT" and r["name"] == name]
    if len(texts) != 1:
        raise RuntimeError(f"postern dns: no single TXT record for {name}: {listing}")
    return os.path.join(key_directory, domain, f"{SELECTOR}.key"), key_directory, texts[0]


def unsigned_message(sender, size, subject):
    """A message of about size bytes (header and body), CRLF lines."""
    header = (f"From: Bench <{sender}>\r\nTo: Bench users <users@{OUR_DOMAIN}>\r\n"
              f"Subject: {subject}\r\nDate: Mon, 07 Dec 2026 12:00:00 +0000\r\n"
              f"Message-ID: <bench-{random.randrange(1 << 48):x}@{sender.split('@')[1]}>\r\n"
              "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n")
    body_bytes = max(len(BODY_LINE), size - len(header) - 2)
    body = BODY_LINE * (body_bytes // len(BODY_LINE))
    return (header + "\r\n" + body).encode()


def write_message_file(path, message):
    """smtp-source -F appends CRLF to every line itself: the file has LF lines."""
    with open(path, "wb") as f:
        f.write(message.replace(b"\r\n", b"\n"))
    return path


def header_fields(raw, name):
    """The unfolded values of every field called name in raw's header."""
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode(errors="replace")
    fields = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] += " " + line.strip()
        else:
            fields.append(line)
    prefix = name.lower() + ":"
    return [" ".join(f[len(prefix):].split()) for f in fields if f.lower().startswith(prefix)]


def sample_files(maildir_base, users, count=SAMPLE_MESSAGES):
    files = []
    for user in users:
        files += glob.glob(os.path.join(maildir_base, OUR_DOMAIN, user, "new", "*"))
    random.shuffle(files)
    return files[:count]


# ---- DNS ------------------------------------------------------------------------------------
class BenchDns:
    """dnsmasq on 127.0.0.2:53 with the bench's TXT records ({name: text}); no query log (a
    write per query would be part of what is measured)."""

    def __init__(self, directory, records):
        args = ["--no-daemon", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                "--conf-file=/dev/null", "--pid-file=", "--user=nobody", f"--port={DNS_PORT}",
                f"--listen-address={DNS_HOST}", "--bind-interfaces", "--local=/test/",
                "--local-ttl=300"]
        if os.environ.get("POSTERN_KEEP_TEST_DIR") == "1":   # debugging: log the queries
            args.append("--log-queries")
        for name, text in records.items():
            parts = [text[i:i + 255] for i in range(0, len(text), 255)]
            args.append(f"--txt-record={name}," + ",".join(parts))
        self.log = open(os.path.join(directory, "dnsmasq.log"), "wb")
        self.process = subprocess.Popen([DNSMASQ, *args], stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + DNS_START_SECONDS
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                with open(self.log.name, "rb") as f:
                    raise RuntimeError("dnsmasq did not start on "
                                       f"{DNS_HOST}:{DNS_PORT}: {f.read()[-500:]!r}")
            time.sleep(0.05)

    def _answers(self):
        query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 + b"".join(bytes([len(p)]) + p for p in (b"probe", b"test")) + b"\x00\x00\x10\x00\x01")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(query, (DNS_HOST, DNS_PORT))
                return s.recv(512)[:2] == b"\x12\x34"
            except OSError:
                return False

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()   # by PID: the process started here
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


# ---- OpenDKIM and OpenDMARC, as the bench runs them ------------------------------------------
class UnixSocketMilter:
    """A milter daemon listening on a Unix socket in its own folder, as Debian's OpenDKIM and
    OpenDMARC do by default and as Postern's master gives authmilter (unix:private/authmilter):
    no TCP on the MTA-milter hop for either side. The folder belongs to the daemon's user
    (libmilter makes the socket after the user switch); the socket's mode comes from UMask 000
    so that Postfix's smtpd (user postfix) may connect: it lies in a folder of this run only."""

    def unix_socket(self):
        folder = os.path.join(self.root, "sock")
        os.makedirs(folder, exist_ok=True)
        os.chmod(folder, 0o755)
        self.chown_to(self.user, folder)
        self.socket_path = os.path.join(folder, f"{self.name}.sock")
        self.spec = f"unix:{self.socket_path}"
        return f"local:{self.socket_path}"

    def _socket_accepts(self):
        self.check_running()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(self.socket_path)
                return True
            except OSError:
                return False

    def start(self):
        self.launch()
        postern_harness.wait_until(self._socket_accepts, START_SECONDS, 0.05,
                                   f"{self.name} on {self.socket_path}")


class BenchOpenDkim(UnixSocketMilter, MilterDaemon):
    """OpenDKIM verifying (mode="v": the bench's DNS through libunbound, QueryCache on) or
    signing (mode="s": domain OUR_DOMAIN, selector SELECTOR, key_source copied for it, mail from
    127.0.0.1 internal). AuthservID POSTFIX_AUTHSERV_ID, which OpenDMARC trusts."""

    name = "opendkim"
    programs = ("opendkim",)
    user = "opendkim"
    needs_safe_parent = True

    def __init__(self, mode, key_source=None, test_dns=None, **kwargs):
        self.mode = mode
        self.test_dns = test_dns or {}
        self.key_source = key_source
        super().__init__(**kwargs)

    def configure(self):
        self.write("internal_hosts", "127.0.0.1\n" if self.mode == "s" else "192.0.2.1\n")
        self.pid_file = os.path.join(self.root, "run", "opendkim.pid")
        os.makedirs(os.path.dirname(self.pid_file), exist_ok=True)
        self.chown_to(self.user, os.path.dirname(self.pid_file))
        lines = [
            "# OpenDKIM for bench/smtp-inbound (bench/lib/auth_milters.py)",
            "Syslog no", f"Mode {self.mode}", "Canonicalization relaxed/relaxed",
            f"Socket {self.unix_socket()}", f"PidFile {self.pid_file}",
            f"UserID {self.user}", "UMask 000", f"AuthservID {POSTFIX_AUTHSERV_ID}",
            f"InternalHosts {os.path.join(self.root, 'internal_hosts')}",
        ]
        if self.mode == "s":
            keys = os.path.join(self.root, "keys")
            os.makedirs(keys, mode=0o750, exist_ok=True)
            key_file = os.path.join(keys, f"{SELECTOR}.private")
            shutil.copyfile(self.key_source, key_file)
            os.chmod(key_file, 0o600)
            self.chown_to(self.user, keys, key_file)
            lines += [f"Domain {OUR_DOMAIN}", f"Selector {SELECTOR}", f"KeyFile {key_file}",
                      "OversignHeaders From"]
        else:
            records = self.write("dkim_keys_dns", "".join(
                f"{name} {text}\n" for name, text in self.test_dns.items()))
            lines += [f"TestDNSData {records}", "AlwaysAddARHeader yes"]
        self.write("opendkim.conf", "\n".join(lines) + "\n")

    def launch(self):
        self.spawn("opendkim", [which("opendkim"), "-f", "-x",
                                os.path.join(self.root, "opendkim.conf")])


class BenchOpenDmarc(UnixSocketMilter, OpenDmarc):
    """OpenDMARC as tests/harness/real_milters.py runs it, but on a Unix socket, its
    resolv.conf naming the bench's DNS server, and trusting OpenDKIM's Authentication-Results
    (same authserv-id)."""

    def __init__(self, **kwargs):
        super().__init__(authserv_id=POSTFIX_AUTHSERV_ID, **kwargs)

    def configure(self):
        super().configure()
        path = os.path.join(self.root, "opendmarc.conf")
        with open(path) as f:
            lines = [line for line in f.read().splitlines() if not line.startswith("Socket")]
        self.write("opendmarc.conf",
                   "\n".join(lines + [f"Socket {self.unix_socket()}", "UMask 000"]) + "\n")

    def loopback_resolv_conf(self):
        return self.write("resolv.conf", f"nameserver {DNS_HOST}\noptions timeout:1 attempts:1\n")


def milter_unavailable_reason():
    for cls in (BenchOpenDkim, BenchOpenDmarc):
        reason = cls.skip_reason()
        if reason:
            return reason
    if not os.access(DNSMASQ, os.X_OK):
        return "dnsmasq is not installed (dnsmasq-base)"
    if not postern_harness.Suite.has_program("authmilter"):
        return "postern-authmilter is not built (libmilter-dev missing?)"
    return None


# ---- the two settings ------------------------------------------------------------------------
class AuthSetting:
    """What both settings share: a folder of their own, the processes, the result of the
    sample checks (label -> text)."""

    def __init__(self, size):
        reason = milter_unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self.root = tempfile.mkdtemp(prefix="bench-auth-")
        os.chmod(self.root, 0o755)
        self.daemons = []
        self.dns = None
        self.size = size
        try:
            self.start()
        except BaseException:
            self.stop()
            raise

    def start(self):
        raise NotImplementedError

    def session_ids(self):
        """Postfix's milters, for CPU accounting (Postern's runs in its master's session)."""
        return [process.pid for daemon in self.daemons for _, process in daemon._processes]

    def postern_services(self, services):
        """Postern's master.cf lines: services, with authmilter's unless they have it (newer
        harnesses list it among the default services)."""
        if any(line.split()[:1] == ["authmilter"] for line in services):
            return list(services)
        return list(services) + ["authmilter unix - - n - 1 authmilter"]

    @staticmethod
    def wait_for_authmilter(suite):
        """Until authmilter serves: the harness's own wait when it has one (a milter
        negotiation), else its start-up log line."""
        if hasattr(suite, "wait_for_authmilter"):
            suite.wait_for_authmilter()
            return
        postern_harness.wait_until(lambda: "postern/authmilter" in suite.log()
                                   and "listening on" in suite.log(), 20,
                                   what="authmilter to listen")

    def stop(self):
        for daemon in self.daemons:
            daemon.stop()
            if not daemon.keep:
                shutil.rmtree(daemon.root, ignore_errors=True)
        if self.dns:
            self.dns.stop()
        if os.environ.get("POSTERN_KEEP_TEST_DIR") != "1":
            shutil.rmtree(self.root, ignore_errors=True)


class AuthVerify(AuthSetting):
    sender = f"bench@{SENDER_DOMAIN}"

    def start(self):
        key_file, _, txt = postern_keygen(os.path.join(self.root, "sender"), SENDER_DOMAIN)
        with open(key_file, "rb") as f:
            private_key = f.read()
        message = unsigned_message(self.sender, self.size, "smtp-inbound bench, signed")
        dkim = import_dkim()
        signature = dkim.sign(message, SELECTOR.encode(), SENDER_DOMAIN.encode(), private_key,
                              canonicalize=(b"relaxed", b"relaxed"),
                              include_headers=[b"from", b"to", b"subject", b"date",
                                               b"message-id"])
        self.message_file = write_message_file(os.path.join(self.root, "message.eml"),
                                                signature + message)
        key_record = {f"{SELECTOR}._domainkey.{SENDER_DOMAIN}": txt}
        self.dns = BenchDns(self.root, {
            **key_record,
            SENDER_DOMAIN: "v=spf1 ip4:127.0.0.1 -all",
            f"_dmarc.{SENDER_DOMAIN}": "v=DMARC1; p=reject",
        })
        self.daemons.append(BenchOpenDkim("v", test_dns=key_record))
        self.daemons.append(BenchOpenDmarc())

    def postern_main_cf(self):
        return (f"smtpd_milters = unix:private/authmilter\n"
                f"smtp_dns_resolver_address = {DNS_HOST}:{DNS_PORT}\n")

    def postfix_main_cf(self):
        return f"smtpd_milters = {', '.join(d.spec for d in self.daemons)}\n"

    def check(self, system, maildir_base, users):
        """None when every sampled message says dkim=pass and dmarc=pass, else why not."""
        files = sample_files(maildir_base, users)
        authserv = POSTERN_AUTHSERV_ID if system == "postern" else POSTFIX_AUTHSERV_ID
        for path in files:
            with open(path, "rb") as f:
                results = [r for r in header_fields(f.read(), "Authentication-Results")
                           if r.startswith(authserv)]
            text = " ; ".join(results)
            if "dkim=pass" not in text or "dmarc=pass" not in text:
                return f"{os.path.basename(path)}: {text or 'no Authentication-Results'}"
        return None if files else "no message to check"


class AuthSign(AuthSetting):
    sender = f"bench@{OUR_DOMAIN}"

    def start(self):
        key_file, self.key_directory, self.txt = postern_keygen(
            os.path.join(self.root, "ours"), OUR_DOMAIN)
        self.message_file = write_message_file(
            os.path.join(self.root, "message.eml"),
            unsigned_message(self.sender, self.size, "smtp-inbound bench, to be signed"))
        self.daemons.append(BenchOpenDkim("s", key_source=key_file))

    def postern_main_cf(self):
        return ("smtpd_milters = unix:private/authmilter\nmynetworks = 127.0.0.0/8\n"
                f"dkim_key_directory = {self.key_directory}\n")

    def postfix_main_cf(self):
        return f"smtpd_milters = {self.daemons[0].spec}\n"

    def check(self, system, maildir_base, users):
        """None when every sampled message has one DKIM-Signature by OUR_DOMAIN that verifies
        against the key's TXT record, else why not."""
        files = sample_files(maildir_base, users)
        return signatures_problem(files, self.txt) if files else "no message to check"


def signatures_problem(files, txt):
    """None when each file (a message, maybe with unsigned fields above it) carries exactly one
    DKIM-Signature by OUR_DOMAIN that python3-dkim verifies against txt, the key's record
    (no DNS asked), else why not."""
    dkim = import_dkim()
    wanted = f"{SELECTOR}._domainkey.{OUR_DOMAIN}"

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return txt.encode() if name.rstrip(".").lower() == wanted else b""
    for path in files:
        with open(path, "rb") as f:
            raw = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        signatures = header_fields(raw, "DKIM-Signature")
        if len(signatures) != 1 or f"d={OUR_DOMAIN};" not in signatures[0].replace(" ", ""):
            return f"{os.path.basename(path)}: DKIM-Signature fields: {signatures}"
        if not dkim.verify(raw, dnsfunc=dnsfunc):
            return f"{os.path.basename(path)}: the signature does not verify"
    return None


SETTINGS = {"auth-verify": AuthVerify, "auth-sign": AuthSign}
