"""The MTA side of the real-milter peer tests (tests/peer/test_milter_*.py): the same scenario
runs against a throwaway real Postfix (the reference) and against a Postern Suite, both set up
from the same main.cf words (smtpd_milters for port 25, submission_milters for 587/465:
Postern's name; Postfix gets a second smtpd in master.cf with -o smtpd_milters=...).

    with MtaUnderTest("postfix", smtpd_milters=rspamd.spec) as mta:
        reply = mta.send(message)           # (code, text) of the reply to the message
        mta.wait_for_subject("demo@example.test", "clean")   # the delivered bytes

Authenticated submission on Postfix: Postfix has no password store of its own, so a throwaway
Dovecot (auth service only, on a loopback TCP port, its own folder) answers Postfix's SASL
(smtpd_sasl_type = dovecot, smtpd_sasl_path = inet:127.0.0.1:PORT). The same user and password
as Postern's test accounts: demo@example.test, postern_harness.TEST_PASSWORD.

Which MTAs a test runs against: argv ("postfix", "postern"; default both).
"""
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postern_harness  # noqa: E402
from postern_harness import Suite, free_port, wait_until  # noqa: E402
from postfix_instance import PostfixInstance, postfix_unavailable_reason  # noqa: E402

MTAS = ("postfix", "postern")
DOMAIN = "example.test"
USER = "demo"
ADDRESS = f"{USER}@{DOMAIN}"
PASSWORD = postern_harness.TEST_PASSWORD
CLIENT_HELO = "client.example.net"
# How the tests set the milter parameters both MTAs read. tempfail: a milter that is not
# there must not let mail through unfiltered in a test about that milter. Timeouts shorter
# than the defaults (30 s, 100 s, 300 s), so that an MTA waiting for a reply a milter never
# sends (rspamd's no-reply steps) fails a test in seconds, not minutes.
MILTER_MAIN_CF = """milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 10s
milter_command_timeout = 10s
milter_content_timeout = 30s
"""


def selected_mtas(argv=None):
    """The MTAs named on the command line (postfix, postern), both when none is."""
    names = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    unknown = [n for n in names if n not in MTAS]
    if unknown:
        raise SystemExit(f"unknown MTA {unknown}: choose from {MTAS}")
    return tuple(names) or MTAS


def mta_unavailable_reason(kind):
    if kind == "postfix":
        reason = postfix_unavailable_reason()
        if reason is None and not shutil.which("dovecot", path=os.environ.get("PATH", "")
                                               + ":/usr/sbin"):
            reason = "dovecot is not installed (Postfix's SASL in these tests asks it)"
        return reason
    if not os.access(os.path.join(postern_harness.BIN_DIR, "postern-master"), os.X_OK):
        return f"postern-master is not built in {postern_harness.BIN_DIR}"
    return None


def client_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # self-signed test certificates
    return context


def make_message(subject, body="Hello from the milter tests.\n", sender=ADDRESS,
                 recipient=ADDRESS, extra_headers=()):
    """A small plain-text message (bytes, CRLF lines), with Date and Message-ID."""
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    lines = [f"From: Demo User <{sender}>", f"To: <{recipient}>", f"Subject: {subject}",
             f"Date: {stamp}",
             f"Message-ID: <{subject.replace(' ', '-')}.{time.time_ns()}@{DOMAIN}>",
             "MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii", *extra_headers,
             ""]
    text = "\r\n".join(lines) + "\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")
    return text.encode()


def maildir_message_with_subject(folder, subject):
    """The bytes of the message in folder (a Maildir's new/) whose Subject is subject."""
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return None
    for name in names:
        if name.startswith("."):
            continue
        try:
            with open(os.path.join(folder, name), "rb") as f:
                content = f.read()
        except OSError:
            continue
        head = content.split(b"\n\n", 1)[0]
        if f"\nSubject: {subject}\n".encode() in b"\n" + head.replace(b"\r\n", b"\n") + b"\n":
            return content
    return None


def header_values(message, name):
    """The values (unfolded, leading space kept off) of every header field called name in
    message (bytes), top first."""
    head = message.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode(errors="replace")
    fields = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] += "\n" + line
        else:
            fields.append(line)
    wanted = name.lower() + ":"
    return [f.split(":", 1)[1].strip() for f in fields if f.lower().startswith(wanted)]


def header_names(message):
    head = message.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode(errors="replace")
    return [line.split(":", 1)[0] for line in head.split("\n")
            if line and line[:1] not in (" ", "\t") and ":" in line]


class DovecotAuth:
    """A throwaway Dovecot running only its auth service, on a loopback TCP port, for
    Postfix's SASL. Its own folder; stopped by its own PID."""

    def __init__(self, user=ADDRESS, password=PASSWORD):
        self.root = tempfile.mkdtemp(prefix="dovecot-auth-")
        os.chmod(self.root, 0o755)
        self.port = free_port()
        for sub in ("run", "state"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        self.log_path = os.path.join(self.root, "dovecot.log")
        with open(os.path.join(self.root, "passwd"), "w") as f:
            f.write(f"{user}:{{SHA512-CRYPT}}{postern_harness.password_hash(password)}\n")
        self.config = os.path.join(self.root, "dovecot.conf")
        with open(self.config, "w") as f:
            f.write(f"""# Throwaway Dovecot: SASL for Postfix in tests/harness/milter_mta.py
protocols =
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.log_path}
info_log_path = {self.log_path}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = passwd-file
  args = {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  inet_listener {{
    address = 127.0.0.1
    port = {self.port}
  }}
}}
service anvil {{
  chroot =
}}
""")
        self.process = subprocess.Popen(["dovecot", "-F", "-c", self.config],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        try:
            wait_until(self._accepts, 30, 0.05, "Dovecot auth port")
        except BaseException:
            self.stop()
            raise

    def _accepts(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"dovecot exited with {self.process.returncode}:\n{self.log()}")
        return _accepts(self.port)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


class MtaUnderTest:
    """One MTA ("postfix" or "postern") with the given milters on port 25 (smtpd_milters) and
    on the submission port (submission_milters), receiving for demo@example.test into a
    Maildir. A context manager."""

    def __init__(self, kind, smtpd_milters="", submission_milters="", main_cf_extra=""):
        if kind not in MTAS:
            raise ValueError(kind)
        self.kind = kind
        self.dovecot = None
        self.postfix = None
        self.suite = None
        milters = MILTER_MAIN_CF + main_cf_extra
        try:
            if kind == "postfix":
                self._start_postfix(smtpd_milters, submission_milters, milters)
            else:
                self._start_postern(smtpd_milters, submission_milters, milters)
        except BaseException:
            self.stop()
            raise

    def _start_postfix(self, smtpd_milters, submission_milters, milters):
        self.dovecot = DovecotAuth()
        self.submission_port = free_port()
        # A submission smtpd as Postfix's master.cf has it (commented out) on Debian: SASL on,
        # only authenticated clients relay, and its own milters. No TLS: AUTH PLAIN over
        # loopback is allowed (smtpd_tls_auth_only is off).
        submission = (
            f"127.0.0.1:{self.submission_port} inet n - n - - smtpd\n"
            "  -o syslog_name=postfix/submission\n"
            "  -o smtpd_sasl_auth_enable=yes\n"
            "  -o smtpd_sasl_type=dovecot\n"
            f"  -o smtpd_sasl_path=inet:127.0.0.1:{self.dovecot.port}\n"
            "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
            "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
            f"  -o {{smtpd_milters={submission_milters}}}\n")
        self.postfix = PostfixInstance(
            "receiver", users=[USER], main_cf_extra=milters + f"smtpd_milters = {smtpd_milters}\n",
            master_cf_extra=submission)
        self.smtp_port = self.postfix.smtp_port
        wait_until(lambda: _accepts(self.submission_port), 30, 0.05, "Postfix submission port")

    def _start_postern(self, smtpd_milters, submission_milters, milters):
        if not Suite.has_program("submission"):
            raise RuntimeError("postern-submission is not built in " + postern_harness.BIN_DIR)
        self.suite = Suite(main_cf_extra=(
            "smtpd_sasl_local_domain = example.test\n" + milters
            + f"smtpd_milters = {smtpd_milters}\n"
            + f"submission_milters = {submission_milters}\n"))
        self.smtp_port = self.suite.smtp_port
        self.submission_port = self.suite.submission_port
        self.suite.wait_for_port(self.submission_port)

    # ---- mail in ---------------------------------------------------------------------------
    def send(self, message, sender=ADDRESS, recipients=(ADDRESS,), submission=False):
        """Sends message over SMTP (port 25, or authenticated submission: STARTTLS first where
        the MTA offers it, then AUTH PLAIN as demo). Returns (code, text) of the reply to the
        end of DATA, or of the first command refused."""
        port = self.submission_port if submission else self.smtp_port
        client = smtplib.SMTP("127.0.0.1", port, timeout=60)
        try:
            client.ehlo(CLIENT_HELO)
            if submission:
                if client.has_extn("starttls"):
                    client.starttls(context=client_context())
                    client.ehlo(CLIENT_HELO)
                client.login(ADDRESS, PASSWORD)
            code, text = client.mail(sender)
            if code != 250:
                return code, text.decode(errors="replace")
            for recipient in recipients:
                code, text = client.rcpt(recipient)
                if code not in (250, 251):
                    return code, text.decode(errors="replace")
            try:
                code, text = client.data(message)
            except smtplib.SMTPDataError as refused:
                code, text = refused.smtp_code, refused.smtp_error
            return code, text.decode(errors="replace") if isinstance(text, bytes) else text
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    # ---- mail out --------------------------------------------------------------------------
    def maildir_new(self, address=ADDRESS):
        if self.postfix:
            return os.path.join(self.postfix.maildir(address.split("@")[0]), "new")
        return os.path.join(self.suite.maildir(address), "new")

    def wait_for_subject(self, subject, address=ADDRESS, timeout=30.0):
        """The delivered message (bytes) with this Subject."""
        folder = self.maildir_new(address)
        try:
            return wait_until(lambda: maildir_message_with_subject(folder, subject), timeout,
                              0.05, f"'{subject}' delivered to {address}")
        except TimeoutError:
            raise TimeoutError(f"'{subject}' never reached {address} through {self.kind}\n"
                               + self.log()[-5000:])

    def has_subject(self, subject, address=ADDRESS):
        return maildir_message_with_subject(self.maildir_new(address), subject) is not None

    def log(self):
        if self.postfix:
            return self.postfix.log()
        return self.suite.log() if self.suite else ""

    def wait_for_log(self, text, timeout=15.0):
        """The log lines holding text, once there is one."""
        def lines():
            return [line for line in self.log().splitlines() if text in line]
        try:
            return wait_until(lines, timeout, 0.05, f"'{text}' in the {self.kind} log")
        except TimeoutError:
            raise TimeoutError(f"no '{text}' in the {self.kind} log\n" + self.log()[-5000:])

    # ---- lifetime --------------------------------------------------------------------------
    def stop(self, failed=False):
        try:
            if self.postfix:
                self.postfix.__exit__(*((RuntimeError, None, None) if failed else (None,) * 3))
            if self.suite:
                self.suite.__exit__(*((RuntimeError, None, None) if failed else (None,) * 3))
        finally:
            if self.dovecot:
                if failed:
                    sys.stderr.write(f"--- dovecot log ---\n{self.dovecot.log()[-3000:]}\n")
                self.dovecot.stop()
            self.postfix = self.suite = self.dovecot = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop(failed=exc_type is not None)
        return False


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def run_for_each_mta(milters, scenarios, make_mta, argv=None):
    """The body of every test_milter_*.py: skips (exit 77) when a milter or a selected MTA
    cannot run here; else starts the milters once (a list of real_milters objects), and for
    each selected MTA starts it with make_mta(kind, milters) and runs every scenario(mta,
    milters) as its own test, named '<scenario> [<mta>]'. Exits as run_tests does."""
    from contextlib import ExitStack
    kinds = selected_mtas(argv)
    reasons = [cls.skip_reason() for cls in milters] + [mta_unavailable_reason(k) for k in kinds
                                                         if k == "postfix"]
    reasons = [r for r in reasons if r]
    if reasons:
        postern_harness.skip_test("; ".join(reasons))
    started = time.monotonic()
    with ExitStack() as stack:
        running = [stack.enter_context(cls()) for cls in milters]
        print(f"milters up in {time.monotonic() - started:.1f}s: "
              + ", ".join(f"{m.name} {m.spec}" for m in running))
        tests = []
        for kind in kinds:
            holder = {}

            def bring_up(kind=kind, holder=holder):
                if "mta" not in holder:
                    holder["mta"] = stack.enter_context(make_mta(kind, running))
                return holder["mta"]
            for scenario in scenarios:
                def test(scenario=scenario, bring_up=bring_up):
                    scenario(bring_up(), running)
                test.__name__ = f"{scenario.__name__} [{kind}]"
                tests.append(test)
        try:
            postern_harness.run_tests(tests)
        except SystemExit as done:
            status = done.code  # run_tests' verdict; the daemons stop cleanly first
    sys.exit(status)
