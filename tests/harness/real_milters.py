"""Starts the real milters Debian ships, for the peer tests of issue 12 (tests/peer/
test_milter_*.py): rspamd, spamass-milter + spamd, OpenDKIM and OpenDMARC. Each one runs from
its own temporary directory with its own configuration, on free loopback ports; the system
services (installed, stopped) and /etc are never touched: /etc files are only read, as the
shipped defaults our configurations include.

    with Rspamd() as rspamd:
        PostfixInstance(..., main_cf_extra=f"smtpd_milters = {rspamd.spec}\\n")

Every class is a context manager: the constructor writes the configuration and starts the
daemon in the foreground; start() waits, bounded, until the milter port accepts a connection
(and fails with the daemon's log if it exits first); stop() sends SIGTERM to the PIDs it started
and to nothing else, waits (bounded: spamass-milter and OpenDKIM take 5-8 s), then SIGKILL.
`spec` is the milter address in the form main.cf takes (Postfix and Postern):
inet:127.0.0.1:PORT. skip_reason() says why a daemon cannot run here (missing, not root), for
skip_test().

No daemon here asks DNS outside this machine: rspamd's resolver and the resolv.conf seen by
OpenDMARC and by opendkim-testmsg point at loopback (private mount namespaces, made with
unshare(1): the machine's /etc/resolv.conf is left as it is), and spamd runs local tests only.
"""
import json
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postern_harness  # noqa: E402
from postern_harness import free_port, wait_until  # noqa: E402

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
STOP_TIMEOUT = 20.0   # seconds for a daemon to exit after SIGTERM before SIGKILL
START_TIMEOUT = 60.0  # seconds for a milter port to accept (rspamd compiles its rules first)
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"


def which(program):
    """The program's path, looking in the sbin folders too (they are not on every PATH)."""
    return shutil.which(program, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def _pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _world_writable_above(path):
    """The first world-writable folder from path up to /, or None."""
    while True:
        if os.stat(path).st_mode & 0o002:
            return path
        if path == "/":
            return None
        path = os.path.dirname(path)


def safe_temp_parent():
    """A folder for temporary folders with no world-writable folder above it (OpenDKIM refuses
    its files otherwise): milter-tmp/ in the build folder, or, when the checkout itself lies
    under a world-writable folder such as /tmp, a folder of ours in /run or in $HOME (each
    created 0755)."""
    candidates = [os.path.join(os.path.abspath(postern_harness.BUILD_DIR), "milter-tmp"),
                  "/run/postern-milter-tests",
                  os.path.join(os.path.expanduser("~"), ".cache", "postern-milter-tests")]
    refused = []
    for parent in candidates:
        try:
            os.makedirs(parent, mode=0o755, exist_ok=True)
        except OSError as error:
            refused.append(f"{parent}: {error}")
            continue
        unsafe = _world_writable_above(parent)
        if unsafe is None:
            return parent
        refused.append(f"{unsafe} is world-writable")
    raise RuntimeError("no folder for OpenDKIM's files without a world-writable folder above "
                       "it: " + "; ".join(refused))


def port_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def private_resolv_conf_command(resolv_conf, command):
    """command run in a private mount namespace in which /etc/resolv.conf is resolv_conf (the
    machine's own file and every other process keep theirs). exec keeps the PID: stopping it
    by PID stops the daemon."""
    script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
    return [UNSHARE, "--mount", "--propagation", "private", "sh", "-c", script, resolv_conf,
            *command]


class MilterDaemon:
    """What every real milter here shares: a temporary directory, the processes started (and
    only those stopped), a bounded wait for the milter port, and the log."""

    name = "milter"
    programs = ()          # executables that must be installed
    needs_root = True      # the daemons switch to their own system users
    # OpenDKIM refuses a configuration file with a world-writable folder above it (/tmp):
    # such daemons get their folder under the build folder instead (safe_temp_parent()).
    needs_safe_parent = False

    def __init__(self, keep=False, start=True):
        self.keep = keep or os.environ.get("POSTERN_KEEP_TEST_DIR") == "1"
        self.root = tempfile.mkdtemp(prefix=f"milter-{self.name}-",
                                     dir=safe_temp_parent() if self.needs_safe_parent else None)
        os.chmod(self.root, 0o755)
        self.port = free_port()
        self.spec = f"inet:127.0.0.1:{self.port}"
        self.log_path = os.path.join(self.root, f"{self.name}.log")
        self._processes = []   # (label, Popen), in start order
        self._log_files = []
        self.configure()
        if start:
            try:
                self.start()
            except BaseException:
                self.stop()
                sys.stderr.write(f"--- {self.name} log ---\n{self.log()[-5000:]}\n")
                raise

    # ---- what each daemon defines ------------------------------------------------------------
    def configure(self):
        raise NotImplementedError

    def launch(self):
        raise NotImplementedError

    @classmethod
    def skip_reason(cls):
        """None when this milter can run here, else why not."""
        for program in cls.programs:
            if not which(program):
                return f"{program} is not installed (scripts/install-deps installs it)"
        if cls.needs_root and os.geteuid() != 0:
            return f"{cls.name} is started as root here (it switches to its own user)"
        if not os.path.exists(UNSHARE):
            return "unshare (util-linux) is not installed"
        return None

    # ---- processes ---------------------------------------------------------------------------
    def spawn(self, label, argv, log_name=None):
        """Starts argv in its own session, its output appended to log_name (default: the
        daemon's log); remembered so that stop() ends it by PID."""
        log_file = open(os.path.join(self.root, log_name or os.path.basename(self.log_path)),
                        "ab")
        self._log_files.append(log_file)
        process = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   cwd=self.root)
        self._processes.append((label, process))
        return process

    def check_running(self):
        for label, process in self._processes:
            if process.poll() is not None:
                raise RuntimeError(f"{self.name}: {label} exited with {process.returncode}:\n"
                                   + self.log()[-5000:])

    def wait_for_port(self, port, timeout=START_TIMEOUT, what=None):
        def ready():
            self.check_running()
            return port_accepts(port)
        wait_until(ready, timeout, 0.05, what or f"{self.name} on 127.0.0.1:{port}")

    def start(self):
        started = time.monotonic()
        self.launch()
        self.wait_for_port(self.port)
        self.start_seconds = time.monotonic() - started

    def stop(self):
        """SIGTERM to each process this object started (last first), a bounded wait, then
        SIGKILL to that PID's process group (each was started as its own session)."""
        for label, process in reversed(self._processes):
            if process.poll() is not None:
                continue
            try:
                process.send_signal(signal.SIGTERM)
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                sys.stderr.write(f"{self.name}: {label} ignored SIGTERM for {STOP_TIMEOUT}s\n")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        self._processes = []
        for log_file in self._log_files:
            log_file.close()
        self._log_files = []

    def log(self):
        texts = []
        for entry in sorted(os.listdir(self.root)):
            if entry.endswith(".log"):
                try:
                    with open(os.path.join(self.root, entry), "rb") as f:
                        texts.append(f"== {entry}\n" + f.read().decode(errors="replace"))
                except OSError:
                    pass
        return "\n".join(texts)

    def write(self, relative, text, mode=0o644):
        path = os.path.join(self.root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def chown_to(self, user, *paths):
        entry = pwd.getpwnam(user)
        for path in paths:
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def loopback_resolv_conf(self):
        """A resolv.conf naming only 127.0.0.1, where nothing answers: a lookup fails at once
        instead of leaving the machine."""
        return self.write("resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")

    # ---- context manager ---------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop()
        finally:
            if exc_type is not None:
                sys.stderr.write(f"--- {self.name} log ({self.root}) ---\n"
                                 f"{self.log()[-10000:]}\n")
            if not self.keep and exc_type is None:
                shutil.rmtree(self.root, ignore_errors=True)
        return False


# ---- rspamd ---------------------------------------------------------------------------------
# Modules left out: every one that asks DNS or the network (RBLs and SURBL, SPF, DKIM, DMARC,
# ARC, ASN, fuzzy hashes, remote maps, MX checks, updates) and those that only work with Redis
# (ratelimit, greylist, neural, reputation ...: they disable themselves without a Redis server,
# listed anyway so that nothing is tried). What stays: the regexp rules, MIME and header checks,
# GTUBE, and milter_headers.
RSPAMD_DISABLED_MODULES = (
    "rbl", "surbl", "spf", "dkim", "dmarc", "arc", "asn", "fuzzy_check", "emails", "hfilter",
    "phishing", "whitelist", "multimap", "mx_check", "rspamd_update", "bimi", "dkim_signing",
    "url_redirector", "greylist", "ratelimit", "neural", "reputation", "history_redis",
    "replies", "dcc", "antivirus", "external_services", "clickhouse", "elastic",
    "metadata_exporter", "metric_exporter", "p0f", "spamtrap", "maillist", "once_received",
    "mid", "trie", "forged_recipients", "spamassassin", "aws_s3", "external_relay", "known_senders",
)


class Rspamd(MilterDaemon):
    """rspamd 3.x: its normal (scanner) worker and its proxy worker in milter mode
    (`milter = yes`, the scanner as upstream), both on loopback. GTUBE is rejected with
    rspamd's own 554 5.7.1 text; milter_headers adds X-Spamd-Result, X-Rspamd-Server,
    X-Rspamd-Queue-Id, X-Rspamd-Action and X-Spam-Status even to loopback and authenticated
    senders (skip_local/skip_authenticated off: rspamd adds nothing to them by default)."""

    name = "rspamd"
    programs = ("rspamd",)
    user = "_rspamd"

    def configure(self):
        self.scanner_port = free_port()
        self.dns_port = free_port(socket.SOCK_DGRAM)  # nothing listens there
        # rspamd compiles its URL suffix list (and its regexp rules) with Hyperscan before the
        # workers start: 13 s and 43 MB here. The compiled files are named by a hash of what
        # they hold, so one folder is shared by every test of this build: only the first
        # start pays.
        self.hs_cache_dir = os.path.join(os.path.abspath(postern_harness.BUILD_DIR),
                                         "rspamd-hs-cache")
        os.makedirs(self.hs_cache_dir, exist_ok=True)
        self.chown_to(self.user, self.hs_cache_dir)
        for sub in ("db", "run", "log", "local.d", "override.d"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        self.write("rspamd.conf", f"""# rspamd for one Postern test (tests/harness/real_milters.py)
.include "$CONFDIR/common.conf"

options {{
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
}}

logging {{
    type = "file";
    filename = "$LOGDIR/rspamd.log";
    level = "info";
}}

worker "normal" {{
    bind_socket = "127.0.0.1:{self.scanner_port}";
    mime = true;
    count = 1;
}}

worker "rspamd_proxy" {{
    bind_socket = "127.0.0.1:{self.port}";
    milter = yes;
    timeout = 120s;
    count = 1;
    upstream "local" {{
        default = yes;
        self_scan = no;
        hosts = "127.0.0.1:{self.scanner_port}";
    }}
    spam_header = "X-Spam";
    discard_on_reject = false;
    quarantine_on_reject = false;
}}
""")
        # The proxy's reject_message is left at its default: rspamd then sends the symbol's
        # own text ("Gtube pattern") in its 554 5.7.1 reply.
        self.write("local.d/options.inc", f"""dns {{
    nameserver = ["127.0.0.1:{self.dns_port}"];
    timeout = 1s;
    retransmits = 1;
}}
local_addrs = [];
hs_cache_dir = "{self.hs_cache_dir}";
""")
        self.write("local.d/milter_headers.conf", """use = ["x-spamd-result", "x-rspamd-server",
       "x-rspamd-queue-id", "x-rspamd-action", "x-spam-status"];
extended_spam_headers = true;
skip_local = false;
skip_authenticated = false;
""")
        # mime_types is kept (its rules are local) but reads only the list rspamd ships: its
        # default also fetches the list from the rspamd project's web site.
        self.write("override.d/mime_types.conf",
                   'file = ["${CONFDIR}/maps.d/mime_types.inc"];\n')
        self.write("local.d/redis.conf", "# no Redis for the tests\n")
        for module in RSPAMD_DISABLED_MODULES:
            self.write(f"local.d/{module}.conf", "enabled = false;\n")
        self.chown_to(self.user, *(os.path.join(self.root, d) for d in ("db", "run", "log")))

    def launch(self):
        # $CONFDIR stays /etc/rspamd (the shipped rules, read only); everything written goes
        # under this test's folder.
        self.spawn("rspamd", [
            which("rspamd"), "-f", "-c", os.path.join(self.root, "rspamd.conf"),
            "-u", self.user, "-g", self.user,
            "--var", f"LOCAL_CONFDIR={self.root}",
            "--var", f"DBDIR={self.root}/db",
            "--var", f"RUNDIR={self.root}/run",
            "--var", f"LOGDIR={self.root}/log",
        ], log_name="rspamd-stderr.log")
        self.wait_for_port(self.scanner_port, what="rspamd's scanner worker")

    def log(self):
        text = super().log()
        try:
            with open(os.path.join(self.root, "log", "rspamd.log"), "rb") as f:
                text += "\n== log/rspamd.log\n" + f.read().decode(errors="replace")
        except OSError:
            pass
        return text


# ---- SpamAssassin ---------------------------------------------------------------------------
class SpamAssassin(MilterDaemon):
    """spamd on a loopback port with a private site configuration (local tests only: no DNS,
    no network tests), and spamass-milter in front of it, started WITHOUT `-i 127.0.0.1`
    (Debian's default options skip loopback mail). Messages scoring reject_score or more are
    refused (spamass-milter -r); below that, SpamAssassin's X-Spam-* headers are added."""

    name = "spamassassin"
    programs = ("spamd", "spamass-milter", "spamc")
    user = "debian-spamd"

    def __init__(self, reject_score=15, **kwargs):
        self.reject_score = reject_score
        super().__init__(**kwargs)

    def configure(self):
        self.spamd_port = free_port()
        site = os.path.join(self.root, "site")
        os.makedirs(site, exist_ok=True)
        # spamd reads its *.pre files (which plugins to load) from the site folder: without the
        # shipped ones it loads no plugins and cannot scan. Copied, not linked, and only read.
        for entry in sorted(os.listdir("/etc/spamassassin")):
            if entry.endswith(".pre"):
                shutil.copy(os.path.join("/etc/spamassassin", entry), site)
        self.write("site/local.cf", """# SpamAssassin for one Postern test (real_milters.py)
required_score 5.0
report_safe 0
use_bayes 0
bayes_auto_learn 0
skip_rbl_checks 1
dns_available no
use_razor2 0
use_pyzor 0
""")
        self.home = os.path.join(self.root, "home")
        os.makedirs(self.home, exist_ok=True)
        self.chown_to(self.user, self.home)

    def _spamd_pongs(self):
        self.check_running()
        try:
            with socket.create_connection(("127.0.0.1", self.spamd_port), timeout=5) as s:
                s.sendall(b"PING SPAMC/1.5\r\n\r\n")
                return b"PONG" in s.recv(256)
        except OSError:
            return False

    def launch(self):
        self.spawn("spamd", [
            which("spamd"), "--siteconfigpath", os.path.join(self.root, "site"),
            "--listen", f"127.0.0.1:{self.spamd_port}", "--allowed-ips", "127.0.0.1",
            "--local", "--nouser-config", "--helper-home-dir", self.home,
            "--username", self.user, "--groupname", self.user,
            "--max-children", "2", "--min-children", "1",
            "--syslog", os.path.join(self.root, "spamd.log"),
            "--pidfile", os.path.join(self.root, "spamd.pid"),
        ], log_name="spamd-stderr.log")
        # spamd binds its port once its rules are compiled; a PING then shows a child
        # answering (an empty connection would only log "bad protocol").
        wait_until(self._spamd_pongs, START_TIMEOUT, 0.1, "spamd to answer PING")
        # -p takes libmilter's form (inet:PORT@HOST). No -i: loopback mail is scanned too.
        # spamc's own options follow "--": this spamd, and no size cut below 1 MB.
        self.spawn("spamass-milter", [
            which("spamass-milter"), "-p", f"inet:{self.port}@127.0.0.1",
            "-r", str(self.reject_score),
            "--", "-d", "127.0.0.1", "-p", str(self.spamd_port), "-s", "1048576",
        ], log_name="spamass-milter.log")


# ---- OpenDKIM -------------------------------------------------------------------------------
class OpenDkim(MilterDaemon):
    """OpenDKIM in signing mode for one domain with a key made by opendkim-genkey in this
    folder. InternalHosts names an address that is never the client (192.0.2.1), so mail from
    127.0.0.1 is signed only when the MTA sends a non-empty {auth_type} (authenticated
    submission). internal_hosts="127.0.0.1" makes loopback internal again (the default).
    OpenDKIM logs only to syslog: its log here holds only what it prints itself."""

    name = "opendkim"
    programs = ("opendkim", "opendkim-genkey")
    user = "opendkim"
    needs_safe_parent = True

    def __init__(self, domain="example.test", selector="postern", internal_hosts="192.0.2.1",
                 canonicalization="relaxed/simple", sign_headers=None, **kwargs):
        # sign_headers: OpenDKIM's SignHeaders ("*,+X-Name" adds to its default list).
        self.sign_headers = sign_headers
        self.domain = domain
        self.selector = selector
        self.internal_hosts = internal_hosts
        self.canonicalization = canonicalization
        super().__init__(**kwargs)

    def configure(self):
        keys = os.path.join(self.root, "keys")
        os.makedirs(keys, mode=0o750, exist_ok=True)
        made = subprocess.run([which("opendkim-genkey"), "-b", "2048", "-d", self.domain,
                               "-s", self.selector, "-D", keys], capture_output=True,
                              text=True, timeout=60)
        if made.returncode != 0:
            raise RuntimeError(f"opendkim-genkey failed: {made.stdout}{made.stderr}")
        self.key_file = os.path.join(keys, f"{self.selector}.private")
        self.dns_name = f"{self.selector}._domainkey.{self.domain}"
        self.txt_record = self._read_txt(os.path.join(keys, f"{self.selector}.txt"))
        self.chown_to(self.user, keys, self.key_file)
        os.chmod(self.key_file, 0o600)
        self.write("internal_hosts", self.internal_hosts.replace(",", "\n") + "\n")
        self.pid_file = os.path.join(self.root, "run", "opendkim.pid")
        os.makedirs(os.path.dirname(self.pid_file), exist_ok=True)
        self.chown_to(self.user, os.path.dirname(self.pid_file))
        self.write("opendkim.conf", f"""# OpenDKIM for one Postern test (real_milters.py)
Syslog                  no
Mode                    s
Domain                  {self.domain}
Selector                {self.selector}
KeyFile                 {self.key_file}
Canonicalization        {self.canonicalization}
InternalHosts           {os.path.join(self.root, "internal_hosts")}
Socket                  inet:{self.port}@127.0.0.1
PidFile                 {self.pid_file}
UserID                  {self.user}
UMask                   007
OversignHeaders         From
""" + (f"SignHeaders             {self.sign_headers}\n" if self.sign_headers else ""))

    @staticmethod
    def _read_txt(path):
        """The TXT record's text from opendkim-genkey's zone-file snippet: its quoted strings,
        joined."""
        with open(path) as f:
            text = f.read()
        parts = []
        inside = False
        current = []
        for char in text:
            if char == '"':
                if inside:
                    parts.append("".join(current))
                    current = []
                inside = not inside
            elif inside:
                current.append(char)
        return "".join(parts)

    def launch(self):
        self.spawn("opendkim", [which("opendkim"), "-f", "-x",
                                os.path.join(self.root, "opendkim.conf")])

    def check_signature(self, message):
        """(python3-dkim's verdict, opendkim-testmsg's CompletedProcess) on message (bytes, LF
        or CRLF lines), both against this instance's key and no other DNS."""
        lf = message.replace(b"\r\n", b"\n")
        verified = import_dkim().verify(lf.replace(b"\n", b"\r\n"), dnsfunc=self.dnsfunc)
        return verified, opendkim_testmsg_verify(lf, {self.dns_name: self.txt_record})

    def assert_signature_verifies(self, message, what="the signature"):
        """Both verifiers say yes to message's DKIM-Signature."""
        verified, checked = self.check_signature(message)
        assert verified, f"python3-dkim: {what} does not verify"
        assert checked.returncode == 0 and not checked.stdout.strip(), \
            f"opendkim-testmsg ({checked.returncode}): {checked.stdout!r} {checked.stderr!r}"

    def dnsfunc(self, name, timeout=5):
        """For dkim.verify(dnsfunc=...): this key's TXT record, and nothing for any other
        name (no DNS asked)."""
        if isinstance(name, bytes):
            name = name.decode()
        if name.rstrip(".").lower() == self.dns_name.lower():
            return self.txt_record.encode()
        return b""


def import_dkim():
    """python3-dkim's `dkim` module. CTest may run the tests with another python3 than
    Debian's (a pyenv one); the package is pure Python, so its folder is added then."""
    try:
        import dkim  # noqa: F401
    except ImportError:
        sys.path.append("/usr/lib/python3/dist-packages")
        import dkim  # noqa: F401
    return dkim


def opendkim_testmsg_verify(message, txt_records, timeout=60):
    """Runs `opendkim-testmsg` (verify mode: no -d/-k/-s) on message (bytes) in a private
    network and mount namespace where 127.0.0.1:53 answers the TXT records given
    ({name: text}) and /etc/resolv.conf names 127.0.0.1: the only DNS it can reach is ours.
    opendkim-testmsg has no option to read a key from a file in verify mode. Returns
    CompletedProcess (returncode 0 and no output: the signature verified)."""
    records = json.dumps({k.rstrip(".").lower(): v for k, v in txt_records.items()})
    program = which("opendkim-testmsg")
    return subprocess.run(
        [UNSHARE, "--net", "--mount", "--propagation", "private", sys.executable,
         os.path.abspath(__file__), "--dns-sandbox", records, program],
        input=message, capture_output=True, timeout=timeout)


def _answer_txt(query, records):
    """A DNS reply (bytes) to query: the TXT record for its name if we have one, else
    NXDOMAIN. Only what opendkim-testmsg asks is handled: one question, class IN."""
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    pos = 12
    labels = []
    while query[pos]:
        length = query[pos]
        labels.append(query[pos + 1:pos + 1 + length].decode(errors="replace"))
        pos += 1 + length
    qtype = struct.unpack("!H", query[pos + 1:pos + 3])[0]
    question = query[12:pos + 5]
    name = ".".join(labels).lower()
    text = records.get(name)
    rd = flags & 0x0100
    if text is None or qtype != 16:
        rcode = 0 if text is not None else 3
        return struct.pack("!HHHHHH", ident, 0x8400 | rd | rcode, 1, 0, 0, 0) + question
    data = text.encode()
    rdata = b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255]
                     for i in range(0, len(data), 255))
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, len(rdata)) + rdata
    return struct.pack("!HHHHHH", ident, 0x8400 | rd, 1, 1, 0, 0) + question + answer


def _dns_sandbox_main(records_json, command):
    """Inside `unshare --net --mount`: loopback up, a TXT responder on 127.0.0.1:53, a
    resolv.conf naming it bound over /etc/resolv.conf (this namespace only), then command
    with our stdin. Exits with the command's status."""
    records = json.loads(records_json)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 53))

    def serve():
        while True:
            query, peer = server.recvfrom(4096)
            try:
                server.sendto(_answer_txt(query, records), peer)
            except (IndexError, struct.error):
                continue
    threading.Thread(target=serve, daemon=True).start()
    folder = tempfile.mkdtemp(prefix="dns-sandbox-")
    resolv = os.path.join(folder, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
    subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)
    done = subprocess.run(command, stdin=sys.stdin.buffer)
    shutil.rmtree(folder, ignore_errors=True)
    sys.exit(done.returncode)


# ---- OpenDMARC ------------------------------------------------------------------------------
class OpenDmarc(MilterDaemon):
    """OpenDMARC adding its Authentication-Results header. IgnoreHosts names an address that
    is never the client (by default 127.0.0.1 is ignored, and nothing is added to loopback
    mail). Its resolv.conf names only loopback (private mount namespace), so the DMARC record
    lookup fails here and the result is none (or temperror): the header is what the tests
    look for."""

    name = "opendmarc"
    programs = ("opendmarc",)
    user = "opendmarc"

    def __init__(self, authserv_id="dmarc.postern.test", **kwargs):
        self.authserv_id = authserv_id
        super().__init__(**kwargs)

    def configure(self):
        self.write("ignore_hosts", "192.0.2.1\n")
        self.pid_file = os.path.join(self.root, "run", "opendmarc.pid")
        os.makedirs(os.path.dirname(self.pid_file), exist_ok=True)
        self.chown_to(self.user, os.path.dirname(self.pid_file))
        self.resolv_conf = self.loopback_resolv_conf()
        self.write("opendmarc.conf", f"""# OpenDMARC for one Postern test (real_milters.py)
Syslog                  false
Socket                  inet:{self.port}@127.0.0.1
PidFile                 {self.pid_file}
UserID                  {self.user}
AuthservID              {self.authserv_id}
TrustedAuthservIDs      {self.authserv_id}
IgnoreHosts             {os.path.join(self.root, "ignore_hosts")}
IgnoreAuthenticatedClients false
RejectFailures          false
RequiredHeaders         false
SPFIgnoreResults        true
SPFSelfValidate         true
DNSTimeout              2
FailureReports          false
HistoryFile             {os.path.join(self.root, "run", "history")}
""")

    def launch(self):
        self.spawn("opendmarc", private_resolv_conf_command(
            self.resolv_conf, [which("opendmarc"), "-f", "-c",
                               os.path.join(self.root, "opendmarc.conf")]))


if __name__ == "__main__" and len(sys.argv) >= 4 and sys.argv[1] == "--dns-sandbox":
    _dns_sandbox_main(sys.argv[2], sys.argv[3:])
