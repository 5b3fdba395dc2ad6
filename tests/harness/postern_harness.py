"""Starts a whole Postern suite for one test: a temporary directory with main.cf, master.cf,
accounts.yaml, a self-signed certificate, queue and mail folders, and postern-master in the
foreground on free loopback ports. Used by every suite test (tests/protocol, durability, reload,
peer) and by bench/. Waits on conditions (a port that accepts, a file count), never on sleeps
alone; every wait is bounded.

    with Suite() as suite:
        smtplib.SMTP("127.0.0.1", suite.smtp_port) ...
        suite.wait_for_mail("demo@example.test", 1)
"""
import grp
import os
import pwd
import random
import re
import shutil
import signal
import smtplib
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid

BUILD_DIR = os.environ.get("POSTERN_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
SOURCE_DIR = os.environ.get("POSTERN_SOURCE_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..")
BIN_DIR = os.path.abspath(os.path.join(BUILD_DIR, "bin"))
TEST_DOMAIN = "example.test"
TEST_PASSWORD = "demo-password-123"
MAIL_OWNER_WHEN_ROOT = "postern"


# Listening ports come from below Linux's ephemeral range (32768-60999 by default), chosen at
# random and never twice in one process: the kernel's own choice (bind to port 0) can hand the
# same port to two calls in a row, and under `ctest --parallel` to a client socket of another
# test before our server binds it.
_PORT_RANGE = (10000, 32000)
_ports_given = set()


def free_port(kind=socket.SOCK_STREAM):
    """A loopback port (TCP, or UDP with kind=SOCK_DGRAM) that is free right now and that this
    process has not handed out before."""
    for _ in range(1000):
        port = random.randint(*_PORT_RANGE)
        if port in _ports_given:
            continue
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise RuntimeError(f"no free loopback port in {_PORT_RANGE}")


SKIP_EXIT_CODE = 77  # CTest's SKIP_RETURN_CODE for suite tests (tests/CMakeLists.txt)


def shared_testdata(*parts):
    """A path under the public test material beside the checkout (../shared/testdata), as CTest
    passes it in POSTERN_SHARED_TESTDATA (or found from this file when run by hand)."""
    base = os.environ.get("POSTERN_SHARED_TESTDATA") or os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "testdata"))
    return os.path.join(base, *parts)


def skip_test(reason):
    """Ends a suite test as skipped (CTest shows it as not run, with this reason)."""
    print(f"skipped: {reason}")
    sys.exit(SKIP_EXIT_CODE)


def fail2ban_matched_lines(log_path, filter_spec):
    """How many lines of log_path fail2ban-regex finds with filter_spec (a filter file with
    options, e.g. "/etc/fail2ban/filter.d/dovecot.conf[_daemon=postern/imapd]")."""
    result = subprocess.run(["fail2ban-regex", log_path, filter_spec], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"^Lines: \d+ lines, \d+ ignored, (\d+) matched", result.stdout, re.M)
    assert match, result.stdout
    return int(match.group(1))


def wait_until(predicate, timeout=20.0, interval=0.02, what="condition"):
    """Polls predicate until it is true; raises TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def password_hash(password):
    """SHA-512-crypt hash made by openssl (present on every Debian machine)."""
    out = subprocess.run(["openssl", "passwd", "-6", password], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


DEFAULT_USERS = ("demo", "alice", "bob")
# What Suite(shipped=True) changes in etc/main.cf: where things are, never what is allowed
# (myorigin, /etc/mailname in etc/main.cf, falls back to its default: the machine's file is not
# read).
SHIPPED_OVERRIDES = {"queue_directory", "data_directory", "daemon_directory",
                     "virtual_mailbox_base", "accounts_file", "mail_owner", "myhostname",
                     "smtpd_tls_cert_file", "smtpd_tls_key_file", "command_directory",
                     "mail_spool_directory", "alias_maps", "myorigin"}


def default_accounts(users=DEFAULT_USERS, extra_yaml=""):
    hashed = password_hash(TEST_PASSWORD)
    lines = [f"postmaster: demo@{TEST_DOMAIN}", "domains:", f"  {TEST_DOMAIN}:", "    users:"]
    for user in users:
        lines += [f"      {user}:", f"        password: \"{hashed}\""]
    lines += ["    aliases:", "      info: demo", "      team: [alice, bob]"]
    return "\n".join(lines) + "\n" + extra_yaml


class Suite:
    """One Postern instance in a temporary directory. Use as a context manager."""

    def __init__(self, main_cf_extra="", accounts=None, services=None, keep=False,
                 start=True, shipped=False, daemon_directory=None, alias_maps=None):
        # shipped=True: main.cf is etc/main.cf as the package installs it, with only the paths,
        # the host name and the certificate pointed at this test's directory (SHIPPED_OVERRIDES);
        # every policy (mynetworks, limits, throttles, retries) is the shipped one unless the
        # test names it in main_cf_extra.
        self.shipped = shipped
        # daemon_directory: where master finds the daemons and sendmail finds postdrop (BIN_DIR
        # unless a test installs a setgid postdrop elsewhere: tests/harness/system_root.py).
        self.daemon_directory = daemon_directory or BIN_DIR
        self.root = tempfile.mkdtemp(prefix="postern-test-")
        os.chmod(self.root, 0o755)
        self.keep = keep or os.environ.get("POSTERN_KEEP_TEST_DIR") == "1"
        self.etc = os.path.join(self.root, "etc")
        # alias_maps: this test's etc/aliases unless a test names another (a sandbox's
        # /etc/aliases): never the machine's.
        self.alias_maps = alias_maps or f"hash:{os.path.join(self.etc, 'aliases')}"
        self.spool = os.path.join(self.root, "spool")
        self.mail = os.path.join(self.root, "mail")
        self.data = os.path.join(self.root, "data")
        self.log_path = os.path.join(self.root, "master.log")
        # System users' mailboxes (postern-local) of this test: never the machine's /var/mail.
        self.var_mail = os.path.join(self.root, "var-mail")
        for d in (self.etc, self.spool, self.mail, self.data, self.var_mail):
            os.makedirs(d, exist_ok=True)
        self.smtp_port = free_port()
        self.submission_port = free_port()    # 587-style: STARTTLS, then AUTH
        self.submissions_port = free_port()   # 465-style: implicit TLS
        self.imap_port = free_port()          # 143-style: STARTTLS (LOGINDISABLED before it)
        self.imaps_port = free_port()         # 993-style: implicit TLS
        self.ports = {"smtp": self.smtp_port, "submission": self.submission_port,
                      "submissions": self.submissions_port, "imap": self.imap_port,
                      "imaps": self.imaps_port}
        self.process = None
        self._log_file = None
        self.mail_owner = self._mail_owner()
        self._write_certificate()
        self._default_services = services is None
        self.write_main_cf(main_cf_extra)
        self.write_master_cf(services)
        self.write_accounts(accounts if accounts is not None else default_accounts())
        self.write_aliases("")
        self._prepare_var_mail()
        if self.mail_owner != pwd.getpwuid(os.getuid()).pw_name:
            entry = pwd.getpwnam(self.mail_owner)
            for d in (self.spool, self.mail, self.data):
                os.chown(d, entry.pw_uid, entry.pw_gid)
        if start:
            self.start()

    # ---- configuration -------------------------------------------------------------------
    @staticmethod
    def _mail_owner():
        if os.geteuid() != 0:
            return pwd.getpwuid(os.getuid()).pw_name
        try:
            pwd.getpwnam(MAIL_OWNER_WHEN_ROOT)
        except KeyError:
            raise RuntimeError(f"running as root needs the system user '{MAIL_OWNER_WHEN_ROOT}': "
                               "scripts/install-deps creates it")
        return MAIL_OWNER_WHEN_ROOT

    def _write_certificate(self):
        self.cert = os.path.join(self.etc, "cert.pem")
        self.key = os.path.join(self.etc, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "30", "-subj", "/CN=mx.example.test", "-keyout", self.key, "-out",
                        self.cert], check=True, capture_output=True)

    def paths_main_cf_text(self):
        return f"""queue_directory = {self.spool}
data_directory = {self.data}
daemon_directory = {self.daemon_directory}
command_directory = {BIN_DIR}
mail_spool_directory = {self.var_mail}
alias_maps = {self.alias_maps}
virtual_mailbox_base = {self.mail}
accounts_file = {self.etc}/accounts.yaml
mail_owner = {self.mail_owner}
myhostname = mx.example.test
smtpd_tls_cert_file = {self.cert}
smtpd_tls_key_file = {self.key}
"""

    def main_cf_text(self, extra=""):
        if self.shipped:
            return self.shipped_main_cf_text(extra)
        return f"""# main.cf written by tests/harness/postern_harness.py
{self.paths_main_cf_text()}queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
service_throttle_time = 0s
{extra}
"""

    def shipped_main_cf_text(self, extra=""):
        """etc/main.cf with the lines that set SHIPPED_OVERRIDES commented out (an entry and its
        continuation lines), then this test's paths, then extra."""
        kept = []
        dropping = False
        with open(os.path.join(SOURCE_DIR, "etc", "main.cf")) as f:
            for line in f:
                if line[:1] in (" ", "\t") and line.strip() and not line.lstrip().startswith("#"):
                    kept.append("#" + line if dropping else line)
                    continue
                name = line.split("=", 1)[0].strip() if "=" in line else ""
                dropping = not line.startswith("#") and name in SHIPPED_OVERRIDES
                kept.append("#" + line if dropping else line)
        # The shipped milters check mail on port 25 through DNS: never the machine's resolver.
        # Nothing listens on 127.0.0.1:1, so every question fails at once (temperror); a test
        # that needs answers names its own DNS server in extra, which comes later and wins.
        return ("".join(kept) + "\n# ---- tests/harness/postern_harness.py: this test's paths\n"
                + self.paths_main_cf_text() + "smtp_dns_resolver_address = 127.0.0.1:1\n"
                + extra + "\n")

    def write_main_cf(self, extra=""):
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(self.main_cf_text(extra))
        # The default services follow main.cf (authmilter runs only where a milter list names
        # it): a test that rewrites main.cf before start gets the master.cf to match.
        if self._default_services and os.path.exists(os.path.join(self.etc, "master.cf")):
            self.write_master_cf()

    @staticmethod
    def has_program(command):
        return os.access(os.path.join(BIN_DIR, f"postern-{command}"), os.X_OK)

    def default_services(self):
        """smtpd, qmgr and delivery; submission (both ports), relay and imapd (both ports)
        once they are built."""
        lines = [f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd"]
        if self.has_program("submission"):
            lines += [f"127.0.0.1:{self.submission_port} inet n - n - - submission",
                      f"127.0.0.1:{self.submissions_port} inet n - n - - submission"
                      " -o smtpd_tls_wrappermode=yes"]
        lines += ["qmgr unix - - n 300 1 qmgr", "delivery unix - - n - 2 delivery"]
        if self.has_program("relay"):
            lines.append("relay unix - - n - 1 relay")
        if self.has_program("pickup"):
            lines.append("pickup unix n - n 60 1 pickup")
        if self.has_program("local"):
            lines.append("local unix - n n - - local")
        if self.has_program("imapd"):
            lines += [f"127.0.0.1:{self.imap_port} inet n - n - 1 imapd",
                      f"127.0.0.1:{self.imaps_port} inet n - n - 1 imapd"
                      " -o imapd_tls_wrappermode=yes"]
        if self.has_program("authmilter") and self._main_cf_names_authmilter():
            # Only where main.cf names unix:private/authmilter in a milter list (the shipped
            # main.cf does, as do the authmilter tests): elsewhere it would only cost each
            # suite's start the wait for it.
            lines.append("authmilter unix - - n - 1 authmilter")
        return lines

    def _main_cf_names_authmilter(self):
        try:
            with open(os.path.join(self.etc, "main.cf")) as f:
                text = f.read()
        except OSError:
            return False
        return re.search(r"^[^#\n]*private/authmilter", text, re.MULTILINE) is not None

    def write_master_cf(self, services=None):
        if services:
            self._default_services = False  # a test's own master.cf: write_main_cf keeps it
        lines = services or self.default_services()
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("# master.cf written by tests/harness/postern_harness.py\n")
            f.write("\n".join(lines) + "\n")

    def write_aliases(self, text):
        """etc/aliases (aliases(5)), compiled by master at start and reload."""
        with open(os.path.join(self.etc, "aliases"), "w") as f:
            f.write(text)

    def _prepare_var_mail(self):
        # As Debian's /var/mail: root:mail 2775, so that local's children (the user, group mail)
        # can create mailboxes and dotlocks.
        if os.geteuid() != 0:
            return
        try:
            mail_gid = grp.getgrnam("mail").gr_gid
        except KeyError:
            return
        os.chown(self.var_mail, 0, mail_gid)
        os.chmod(self.var_mail, 0o2775)

    def write_accounts(self, text):
        with open(os.path.join(self.etc, "accounts.yaml"), "w") as f:
            f.write(text)

    # ---- processes -----------------------------------------------------------------------
    def master_command(self):
        return [os.path.join(BIN_DIR, "postern-master"), "-c", self.etc, "-f"]

    def start(self, wait=True):
        for attempt in range(3):
            if self._log_file is not None:
                self._log_file.close()
            self._log_file = open(self.log_path, "ab")
            self.process = subprocess.Popen(self.master_command(), stdout=self._log_file,
                                            stderr=subprocess.STDOUT, start_new_session=True)
            if not wait:
                return self.process
            try:
                # Every listener of master.cf: master binds them one after another, and a test
                # may start with any of them (waiting for smtp alone lost that race under load).
                for port in self.listening_ports():
                    self.wait_for_port(port)
                self.wait_for_authmilter()
                return self.process
            except RuntimeError:
                # Another test (ctest runs two at a time) took a port between free_port() and
                # master's bind: move that service to another port and start again.
                taken = re.findall(r"bind 127\.0\.0\.1:(\d+): Address already in use",
                                   self.log())
                if attempt == 2 or not taken or self.process.poll() is None:
                    raise
                # The failed start's log (master's "fatal: ... bind") goes aside, so that the
                # tests' checks for crash lines read only the run they test.
                self._log_file.close()
                self._log_file = None
                os.replace(self.log_path, f"{self.log_path}.port-clash-{attempt + 1}")
                self._move_port(int(taken[-1]))
        return self.process

    def authmilter_answers(self):
        """True when private/authmilter answers a milter option negotiation: libmilter's
        socket, not the one master bound first (nobody accepts there; authmilter replaces it
        and closes what reached it)."""
        path = os.path.join(self.spool, "private", "authmilter")
        payload = b"O" + struct.pack("!III", 6, 0x1FF, 0x1FFFFF)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect(path)
                s.sendall(struct.pack("!I", len(payload)) + payload)
                reply = s.recv(5)
                return len(reply) == 5 and reply[4:5] == b"O"
        except OSError:
            return False

    def wait_for_authmilter(self, old_pids=(), timeout=20.0):
        """With an authmilter service, waits until an authmilter other than old_pids runs and
        answers on its socket: a session that starts earlier gets the milter's default
        action."""
        with open(os.path.join(self.etc, "master.cf")) as f:
            if not re.search(r"^authmilter\s+unix\b", f.read(), re.MULTILINE):
                return
        wait_until(lambda: set(self.worker_pids("authmilter")) - set(old_pids)
                   and self.authmilter_answers(), timeout, what="authmilter answering")

    def _move_port(self, old):
        new = free_port()
        path = os.path.join(self.etc, "master.cf")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(re.sub(rf"^127\.0\.0\.1:{old}(?=\s)", f"127.0.0.1:{new}", text,
                           flags=re.MULTILINE))
        for name, port in list(self.ports.items()):
            if port == old:
                self.ports[name] = new
                setattr(self, f"{name}_port", new)

    def listening_ports(self):
        """The loopback TCP ports master.cf has services on."""
        with open(os.path.join(self.etc, "master.cf")) as f:
            ports = [int(m.group(1)) for m in re.finditer(r"^127\.0\.0\.1:(\d+)\s+inet\b",
                                                          f.read(), re.MULTILINE)]
        return ports or [self.smtp_port]

    def wait_for_port(self, port, timeout=20.0):
        def accepts():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"postern-master exited with {self.process.returncode}:\n"
                                   + self.log())
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False
        wait_until(accepts, timeout, what=f"port {port}")

    def stop(self, timeout=30.0):
        """Graceful stop (SIGTERM); SIGKILL to the process group only if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            raise RuntimeError("postern-master did not stop on SIGTERM\n" + self.log())

    def kill_all(self):
        """kill -9 of the whole process tree (master and every worker), as in a power cut."""
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        wait_until(lambda: not self.worker_pids(any_parent=True), 10, what="workers gone")

    def reload(self):
        self.process.send_signal(signal.SIGHUP)

    def worker_pids(self, command=None, any_parent=False):
        """PIDs of running postern-<command> workers of this suite (all commands if None)."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if not argv or not argv[0]:
                continue
            name = os.path.basename(argv[0].decode(errors="replace"))
            if not name.startswith("postern-") or name == "postern-master":
                continue
            if self.etc.encode() not in argv:
                continue
            state = stat.rsplit(")", 1)[1].split()
            if state[0] == "Z":
                continue
            ppid = int(state[1])
            if not any_parent and (self.process is None or ppid != self.process.pid):
                continue
            if command is None or name == f"postern-{command}":
                pids.append(int(entry))
        return pids

    def kill_worker(self, command, sig=signal.SIGKILL):
        """Sends sig to every running postern-<command> of this suite; returns their PIDs."""
        pids = self.worker_pids(command)
        if not pids:
            raise RuntimeError(f"no running postern-{command}\n" + self.log())
        for pid in pids:
            os.kill(pid, sig)
        return pids

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # ---- mail ----------------------------------------------------------------------------
    def maildir(self, address):
        local, domain = address.split("@")
        return os.path.join(self.mail, domain, local)

    def messages(self, address, folder="new"):
        """Full paths of the messages in a Maildir folder ("new" or "cur")."""
        path = os.path.join(self.maildir(address), folder)
        try:
            return sorted(os.path.join(path, n) for n in os.listdir(path)
                          if not n.startswith("."))
        except FileNotFoundError:
            return []

    def wait_for_mail(self, address, count, timeout=30.0):
        """Waits until address's Maildir new/ holds at least count messages; returns them."""
        def enough():
            found = self.messages(address)
            return found if len(found) >= count else None
        try:
            return wait_until(enough, timeout, 0.05, f"{count} messages for {address}")
        except TimeoutError:
            raise TimeoutError(f"{len(self.messages(address))} of {count} messages for "
                               f"{address} arrived\n" + self.log()[-5000:])

    def queue_files(self, folder=None):
        folders = [folder] if folder else ["incoming", "active", "deferred", "hold", "corrupt"]
        found = []
        for name in folders:
            path = os.path.join(self.spool, name)
            try:
                found += [os.path.join(path, n) for n in os.listdir(path)
                          if not n.startswith(".")]
            except FileNotFoundError:
                pass
        return found

    # ---- context manager -----------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop()
        finally:
            if self._log_file:
                self._log_file.close()
            if exc_type is not None:
                sys.stderr.write(f"--- postern log ({self.log_path}) ---\n{self.log()[-20000:]}\n")
            if not self.keep and exc_type is None:
                shutil.rmtree(self.root, ignore_errors=True)
        return False


def send_tokened_message(suite, sender, recipients, subject="test message"):
    """One message over the suite's port 25 (smtplib), every reply checked: its body and an
    X-Test-Token header carry a fresh token. Returns (token, queue ID from the 250 reply). A
    null sender ("") gets a MAILER-DAEMON-style From: line."""
    token = uuid.uuid4().hex
    body = (f"From: <{sender or 'mailer-daemon@remote.example'}>\r\nTo: {', '.join(recipients)}"
            f"\r\nSubject: {subject}\r\nX-Test-Token: {token}\r\n\r\nbody {token}\r\n")
    with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=30) as client:
        client.ehlo("client.remote.test")
        code, reply = client.mail(sender)
        assert code == 250, (code, reply)
        for rcpt in recipients:
            code, reply = client.rcpt(rcpt)
            assert code == 250, (rcpt, code, reply)
        code, reply = client.data(body.encode())
        assert code == 250, (code, reply)
    match = re.search(rb"queued as ([0-9A-Z]+)", reply)
    assert match, reply
    return token, match.group(1).decode()


def run_tests(test_functions):
    """Minimal runner for suite test scripts: runs each function, prints a closing line in the
    'N passed, N failed' form CTest output readers understand, and exits non-zero on failure."""
    passed = failed = 0
    for fn in test_functions:
        name = fn.__name__
        started = time.monotonic()
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - report every failure and go on
            failed += 1
            import traceback
            traceback.print_exc()
            print(f"FAIL {name} ({time.monotonic() - started:.1f}s): {exc!r}")
        else:
            passed += 1
            print(f"ok   {name} ({time.monotonic() - started:.1f}s)")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
