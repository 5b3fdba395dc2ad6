"""Helpers for the IMAP suite tests (tests/protocol/test_imap_*.py, tests/peer/test_imap_*.py,
tests/fault/test_imap_*.py): a Suite with postern-imapd's two ports up, logged-in imaplib clients
over implicit TLS (imaps) and STARTTLS (imap), a raw TLS connection that reads lines and literals
with a timeout, delivery of a message through smtpd, and a fast filler that writes messages
straight into a user's Maildir as delivery would. Not a test itself (CTest runs only test_*.py).

Trusts: the suite's own self-signed certificate (not verified: the connection is to 127.0.0.1).
Limits: every read has a timeout, every wait is bounded (wait_until), raw reads stop at
kMaxLine bytes per line and kMaxLiteral bytes per literal.

Reference run: with POSTERN_IMAP_REFERENCE=dovecot in the environment, imap_suite() starts the
Postern suite without imapd (smtpd and delivery fill the Maildirs) and a throwaway Dovecot
(dovecot-imapd, never the system one) in the suite's directory, serving the same Maildirs on
the suite's imap/imaps ports. That is how the tests were checked before postern-imapd existed;
CTest always runs against Postern.
"""
import email
import email.policy
import email.utils
import imaplib
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postern_harness  # noqa: E402
from postern_harness import Suite, TEST_DOMAIN, TEST_PASSWORD, wait_until  # noqa: E402

PASSWORD = TEST_PASSWORD
USERS = ("demo", "alice", "bob")
kMaxLine = 1 << 20
kMaxLiteral = 256 << 20
# Login names without '@' get this domain, as for submission.
BASE_MAIN_CF = "smtpd_sasl_local_domain = example.test\n"
REFERENCE = os.environ.get("POSTERN_IMAP_REFERENCE", "")


def address(user):
    return user if "@" in user else f"{user}@{TEST_DOMAIN}"


def client_context(suite=None):
    """A TLS client context for the suite: trusts suite.cert when given (without the host-name
    check: the certificate names mx.example.test, we connect to 127.0.0.1), else verifies
    nothing."""
    context = ssl.create_default_context()
    context.check_hostname = False
    if suite is not None and getattr(suite, "cert", None):
        context.load_verify_locations(suite.cert)
    else:
        context.verify_mode = ssl.CERT_NONE
    return context


# ---- the suite ---------------------------------------------------------------------------
class DovecotReference:
    """A throwaway Dovecot (Debian's dovecot-imapd binary, its own configuration and runtime
    directories inside the suite's root) serving the suite's Maildirs on the suite's imap and
    imaps ports, or on ports=(imap, imaps) beside postern-imapd. Stopped by its own PID only."""

    def __init__(self, suite, users=USERS, ports=None):
        self.suite = suite
        self.imap_port, self.imaps_port = ports or (suite.imap_port, suite.imaps_port)
        self.root = os.path.join(suite.root, "dovecot")
        os.makedirs(os.path.join(self.root, "run"), exist_ok=True)
        os.makedirs(os.path.join(self.root, "state"), exist_ok=True)
        self.config = os.path.join(self.root, "dovecot.conf")
        self.log_path = os.path.join(self.root, "dovecot.log")
        hashed = postern_harness.password_hash(PASSWORD)
        with open(os.path.join(self.root, "passwd"), "w") as f:
            for user in users:
                f.write(f"{address(user)}:{{SHA512-CRYPT}}{hashed}\n")
        owner = pwd.getpwnam(suite.mail_owner)
        dh = "/usr/share/dovecot/dh.pem"
        special = "".join(
            f"  mailbox {name} {{\n    special_use = \\{name}\n    auto = subscribe\n  }}\n"
            for name in ("Drafts", "Sent", "Trash", "Junk", "Archive"))
        with open(self.config, "w") as f:
            f.write(f"""# Throwaway Dovecot checking Postern's IMAP tests (tests/harness/imap_support.py)
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.log_path}
info_log_path = {self.log_path}
ssl = yes
ssl_cert = <{suite.cert}
ssl_key = <{suite.key}
{"ssl_dh = <" + dh if os.path.exists(dh) else ""}
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = passwd-file
  args = {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={suite.mail}/%d/%n
}}
mail_location = maildir:{suite.mail}/%d/%n
first_valid_uid = 1
namespace inbox {{
  inbox = yes
  separator = .
{special}}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
        self.process = subprocess.Popen(["dovecot", "-F", "-c", self.config],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def imap_pids(self):
        """PIDs of this Dovecot's imap processes (one per logged-in session)."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            comm = stat.split("(", 1)[1].rsplit(")", 1)[0]
            if comm == "imap" and argv and argv[0].startswith(b"dovecot/imap"):
                if self._descends_from(int(entry)):
                    pids.append(int(entry))
        return pids

    def _descends_from(self, pid):
        for _ in range(10):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                return False
            if ppid == self.process.pid:
                return True
            if ppid <= 1:
                return False
            pid = ppid
        return False

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


class ImapSuite(Suite):
    """A Postern Suite with imapd's two ports up (or, under POSTERN_IMAP_REFERENCE=dovecot, a
    throwaway Dovecot on those ports instead of imapd). imapd_pids() names the processes that
    serve IMAP in either case."""

    def __init__(self, main_cf_extra="", **kwargs):
        self.dovecot = None
        super().__init__(main_cf_extra=BASE_MAIN_CF + main_cf_extra, start=False, **kwargs)
        self._write_certificate_with_ip()
        if REFERENCE == "dovecot":
            self.write_master_cf([line for line in self.default_services()
                                  if not line.endswith("imapd")
                                  and "imapd " not in line])
        elif not Suite.has_program("imapd"):
            raise RuntimeError("postern-imapd is not built in " + postern_harness.BIN_DIR)
        try:
            self.start()
            if REFERENCE == "dovecot":
                self.dovecot = DovecotReference(self)
            self.wait_for_port(self.imap_port)
            self.wait_for_port(self.imaps_port)
        except Exception:
            self.__exit__(*sys.exc_info())
            raise

    def _write_certificate_with_ip(self):
        """The suite's self-signed certificate again, with 127.0.0.1 as a subjectAltName too:
        clients that always check the host name (mbsync 1.4 compares DNS names only) then
        accept it as their trusted certificate when they connect to 127.0.0.1."""
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "30", "-subj", "/CN=mx.example.test", "-addext",
                        "subjectAltName=DNS:mx.example.test,DNS:127.0.0.1,IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.cert], check=True, capture_output=True)
        if self.mail_owner != pwd.getpwuid(os.getuid()).pw_name:
            os.chmod(self.key, 0o600)

    def imapd_pids(self):
        if self.dovecot is not None:
            return self.dovecot.imap_pids()
        return self.worker_pids("imapd")

    def log(self):
        text = super().log()
        if self.dovecot is not None:
            text += "\n--- dovecot log ---\n" + self.dovecot.log()
        return text

    def stop(self, timeout=30.0):
        try:
            if self.dovecot is not None:
                self.dovecot.stop()
        finally:
            super().stop(timeout)


def imap_suite(main_cf_extra="", **kwargs):
    return ImapSuite(main_cf_extra, **kwargs)


def crash_lines(suite):
    """Lines of the master log that tell of a worker that died or was restarted."""
    pattern = re.compile(r"(killed by signal|terminated with signal|exit status [1-9]|"
                         r"abnormal|crash|core dumped|Panic|Fatal|restart)", re.IGNORECASE)
    return [line for line in suite.log().splitlines() if pattern.search(line)]


# ---- imaplib clients ---------------------------------------------------------------------
def imaps(suite, user="demo", password=PASSWORD, login=True, timeout=20):
    """imaplib over implicit TLS on suite.imaps_port, logged in as user (unless login=False)."""
    client = imaplib.IMAP4_SSL("127.0.0.1", suite.imaps_port, ssl_context=client_context(suite),
                               timeout=timeout)
    if login:
        client.login(address(user), password)
    return client


def imap_starttls(suite, user="demo", password=PASSWORD, login=True, timeout=20):
    """imaplib on suite.imap_port after STARTTLS, logged in as user (unless login=False)."""
    client = imaplib.IMAP4("127.0.0.1", suite.imap_port, timeout=timeout)
    client.starttls(ssl_context=client_context(suite))
    if login:
        client.login(address(user), password)
    return client


def check_ok(result, what=""):
    """imaplib's (typ, data) must be OK; returns data."""
    typ, data = result
    assert typ == "OK", f"{what}: {typ} {data!r}"
    return data


# ---- a raw IMAP connection ---------------------------------------------------------------
class RawImap:
    """One IMAP connection on a plain socket, for tests that must control every byte: send()
    writes bytes as given; read_line() returns one line with its literals inlined, as
    (text, [literal bytes...]); command() sends a tagged command and collects the answer.
    Every read has a timeout (socket.timeout on expiry); EOF raises ConnectionError."""

    def __init__(self, sock, timeout=20.0):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buffer = b""
        self.counter = 0

    @classmethod
    def connect_tls(cls, suite, port=None, timeout=20.0):
        """TLS from the first byte (imaps); reads the greeting into self.greeting."""
        raw = socket.create_connection(("127.0.0.1", port or suite.imaps_port), timeout=timeout)
        sock = client_context(suite).wrap_socket(raw)
        conn = cls(sock, timeout)
        conn.greeting = conn.read_line()[0]
        return conn

    @classmethod
    def connect_starttls(cls, suite, timeout=20.0):
        """Plain connection to suite.imap_port, STARTTLS, then TLS."""
        raw = socket.create_connection(("127.0.0.1", suite.imap_port), timeout=timeout)
        conn = cls(raw, timeout)
        conn.greeting = conn.read_line()[0]
        _, tagged = conn.command(b"STARTTLS")
        assert tagged.split()[1] == b"OK", tagged
        conn.sock = client_context(suite).wrap_socket(raw)
        conn.sock.settimeout(timeout)
        return conn

    def settimeout(self, timeout):
        self.sock.settimeout(timeout)

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def read_raw_line(self):
        """One CRLF-terminated line (CRLF included)."""
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line, self.buffer = self.buffer[:end + 2], self.buffer[end + 2:]
                return line
            if len(self.buffer) > kMaxLine:
                raise ValueError("line longer than kMaxLine")
            self._fill()

    def read_exact(self, n):
        if n > kMaxLiteral:
            raise ValueError(f"literal of {n} bytes is over kMaxLiteral")
        while len(self.buffer) < n:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    _LITERAL = re.compile(rb"\{(\d+)\}\r\n$")

    def read_line(self):
        """One response line with its literals: (text without CRLF, literals). The text has
        each literal replaced by its {n} marker."""
        text = b""
        literals = []
        while True:
            line = self.read_raw_line()
            match = self._LITERAL.search(line)
            if not match:
                return text + line[:-2], literals
            text += line[:-2]
            literals.append(self.read_exact(int(match.group(1))))

    def next_tag(self):
        self.counter += 1
        return b"t%d" % self.counter

    def read_until_tagged(self, tag):
        """Untagged/continuation lines (text, literals) until the tagged reply for tag;
        returns (untagged, tagged_line)."""
        untagged = []
        while True:
            text, literals = self.read_line()
            if text.startswith(tag + b" "):
                return untagged, text
            untagged.append((text, literals))

    def command(self, command, tag=None):
        """Sends 'tag command' and reads to its tagged reply: (untagged lines, tagged line).
        command has no CRLF and no synchronising literal (use send for those)."""
        tag = tag or self.next_tag()
        self.send(tag + b" " + command + b"\r\n")
        return self.read_until_tagged(tag)

    def login(self, user="demo", password=PASSWORD):
        _, tagged = self.command(b'LOGIN "%s" "%s"' % (address(user).encode(), password.encode()))
        assert tagged.split()[1] == b"OK", tagged
        return tagged

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class KeywordWatch:
    """What imaptest checks of one selected session: a keyword (a flag without a backslash)
    shown in a FETCH's FLAGS must have been listed by an untagged FLAGS before ("Keyword used
    without being in FLAGS"), and every FLAGS is followed by its OK [PERMANENTFLAGS] (which,
    read-write, lists the same flags and \\*). Feed it every untagged line of the session, the
    SELECT's included, in order: watch.see(lines)."""

    _FLAGS = re.compile(rb"^\* FLAGS \(([^)]*)\)", re.IGNORECASE)
    _PERMANENT = re.compile(rb"^\* OK \[PERMANENTFLAGS \(([^)]*)\)\]", re.IGNORECASE)
    _FETCH_FLAGS = re.compile(rb"^\* \d+ FETCH \(.*\bFLAGS \(([^)]*)\)", re.IGNORECASE)

    def __init__(self):
        self.flags = None          # the last FLAGS list (None before SELECT's)
        self.announcements = 0     # FLAGS lines seen
        self.expect_permanent = False

    def see(self, lines):
        for line in lines:
            text = line[0] if isinstance(line, tuple) else line
            flags = self._FLAGS.match(text)
            if flags:
                assert not self.expect_permanent, f"FLAGS without PERMANENTFLAGS before {text!r}"
                self.flags = set(flags.group(1).split())
                self.announcements += 1
                self.expect_permanent = True
                continue
            permanent = self._PERMANENT.match(text)
            if permanent:
                listed = set(permanent.group(1).split()) - {b"\\*"}
                assert not listed or listed == self.flags, (text, self.flags)
                self.expect_permanent = False
                continue
            assert not self.expect_permanent, f"FLAGS without PERMANENTFLAGS before {text!r}"
            fetch = self._FETCH_FLAGS.match(text)
            if fetch and self.flags is not None:
                for flag in fetch.group(1).split():
                    if not flag.startswith(b"\\"):
                        assert flag in self.flags, \
                            f"Keyword used without being in FLAGS: {flag!r} in {text!r}"

    def has(self, keyword):
        return self.flags is not None and keyword in self.flags


def raw_imaps(suite, user="demo", login=True, timeout=20.0):
    conn = RawImap.connect_tls(suite, timeout=timeout)
    if login:
        conn.login(user)
    return conn


# ---- mail --------------------------------------------------------------------------------
def maildir_files(suite, user, folder=None):
    """Full paths of the message files of one folder (None or "INBOX": the user's INBOX;
    "A.B": the Maildir++ directory .A.B), new/ and cur/ together."""
    root = suite.maildir(address(user))
    if folder and folder.upper() != "INBOX":
        root = os.path.join(root, "." + folder)
    found = []
    for sub in ("new", "cur"):
        path = os.path.join(root, sub)
        try:
            found += [os.path.join(path, n) for n in os.listdir(path) if not n.startswith(".")]
        except FileNotFoundError:
            pass
    return sorted(found)


def maildir_flags(path):
    """The Maildir flag letters of a message file name ('' when in new/ or without info)."""
    name = os.path.basename(path)
    return name.split(":2,", 1)[1] if ":2," in name else ""


def read_message(path):
    with open(path, "rb") as f:
        return f.read()


def header_of(data, name):
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    value = message.get(name)
    return None if value is None else str(value)


def find_in_maildir(suite, user, subject, folder=None):
    for path in maildir_files(suite, user, folder):
        try:
            data = read_message(path)
        except FileNotFoundError:  # renamed new/ -> cur/ or flagged meanwhile
            continue
        if header_of(data, "Subject") == subject:
            return path
    return None


def deliver(suite, to, subject, body="hello\n", sender="alice@example.test", timeout=30.0,
            headers=None, wait=True):
    """Sends one message through smtpd (plain SMTP on suite.smtp_port) and, with wait, waits
    until it is in to's Maildir (new/ or cur/); returns the file's path (or None without
    wait). The time of smtpd's 250 reply is in deliver.last_accepted (time.monotonic())."""
    lines = [f"From: <{sender}>", f"To: <{address(to)}>", f"Subject: {subject}",
             f"Message-ID: <{time.time_ns()}.{os.getpid()}@client.example.net>",
             "Date: " + email.utils.formatdate(localtime=False)]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    text = "\r\n".join(lines) + "\r\n\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")
    with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
        client.ehlo("client.example.net")
        client.sendmail(sender, [address(to)], text.encode())
        deliver.last_accepted = time.monotonic()
    if not wait:
        return None
    try:
        return wait_until(lambda: find_in_maildir(suite, to, subject), timeout, 0.02,
                          f"'{subject}' in {to}'s Maildir")
    except TimeoutError:
        raise TimeoutError(f"'{subject}' never reached {to}\n" + suite.log()[-5000:])


deliver.last_accepted = None


def _chown_to_owner(suite, path):
    if os.geteuid() == 0:
        owner = pwd.getpwnam(suite.mail_owner)
        os.chown(path, owner.pw_uid, owner.pw_gid)


def ensure_maildir(suite, user, folder=None):
    """Creates the user's Maildir (and folder's .folder) with tmp/ new/ cur/ owned by the mail
    owner, as delivery does; returns its path."""
    local, domain = address(user).split("@")
    paths = [os.path.join(suite.mail, domain), os.path.join(suite.mail, domain, local)]
    root = paths[-1]
    if folder and folder.upper() != "INBOX":
        root = os.path.join(root, "." + folder)
        paths.append(root)
        # Maildir++ marks a folder with a maildirfolder file.
    paths += [os.path.join(root, sub) for sub in ("tmp", "new", "cur")]
    for path in paths:
        if not os.path.isdir(path):
            os.makedirs(path, mode=0o700, exist_ok=True)
            _chown_to_owner(suite, path)
    if folder and folder.upper() != "INBOX":
        marker = os.path.join(root, "maildirfolder")
        if not os.path.exists(marker):
            open(marker, "w").close()
            _chown_to_owner(suite, marker)
    return root


_fill_counter = 0


def make_message(index, to, subject=None, body=None, sender="alice@example.test"):
    """One message as delivery stores it (LF line ends, with delivery's Return-Path and
    Delivered-To in front)."""
    subject = subject or f"filled message {index}"
    body = body or f"This is message number {index}.\nSecond line of {index}.\n"
    return (f"Return-Path: <{sender}>\nDelivered-To: {to}\n"
            f"From: Alice <{sender}>\nTo: <{to}>\nSubject: {subject}\n"
            f"Message-ID: <fill-{index}-{os.getpid()}-{time.time_ns()}@example.test>\n"
            f"Date: {email.utils.formatdate(1700000000 + index * 60)}\n"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n{body}").encode()


def fill_maildir(suite, user, n, folder=None, make=None):
    """Writes n messages straight into the user's Maildir new/ (or folder's), as delivery
    would: written in tmp/, renamed into new/ under a unique '<sec>.M<usec>P<pid>Q<n>.<host>,
    S=<size>' name, LF line ends, mode 0600, owned by the mail owner. make(i, to) may supply
    the bytes of message i. Returns the list of paths in order."""
    global _fill_counter
    root = ensure_maildir(suite, user, folder)
    to = address(user)
    host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
    paths = []
    for i in range(n):
        data = make(i, to) if make else make_message(i, to)
        _fill_counter += 1
        now = time.time()
        unique = f"{int(now)}.M{int((now % 1) * 1e6)}P{os.getpid()}Q{_fill_counter}.{host}"
        tmp = os.path.join(root, "tmp", unique)
        final = os.path.join(root, "new", f"{unique},S={len(data)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        _chown_to_owner(suite, tmp)
        os.rename(tmp, final)
        paths.append(final)
    return paths


def crlf(data):
    """LF-only file bytes as IMAP shows them (CRLF line ends)."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def rss_growth_bound_kib(kib):
    """The memory-growth bound a test asserts: four times as much when the build runs under
    AddressSanitizer (shadow memory, redzones and the quarantine that keeps freed blocks for a
    while), so the bound still proves growth stops, not ASan's overhead. CTest says which
    build it runs (POSTERN_SANITIZE=1); gcc links libasan as a shared library but clang links
    its runtime in, so the process's maps cannot tell."""
    return 4 * kib if os.environ.get("POSTERN_SANITIZE") == "1" else kib


def rss_kib(pid):
    """VmRSS of a process in KiB (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def which(program):
    path = shutil.which(program)
    assert path, f"{program} is not installed (scripts/install-deps)"
    return path
