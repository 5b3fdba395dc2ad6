"""Starts a throwaway real Postfix for peer tests and benchmarks, entirely inside a temporary
directory: its own config_directory (main.cf, master.cf), queue_directory, data_directory and
maillog_file, one smtpd on a free loopback port. Two roles:

    "relay"    -- mail for every domain goes to relayhost = [127.0.0.1]:<port> (a Postern smtpd)
    "receiver" -- virtual Maildir delivery for one domain, as Postern does (bench/smtp-inbound)

    with PostfixInstance("relay", relay_port=suite.smtp_port) as postfix:
        subprocess.run(["smtp-source", ..., f"127.0.0.1:{postfix.smtp_port}"])

What it touches outside the temporary directory: nothing. The system Postfix stays unconfigured
and stopped (scripts/install-deps preseeds "No configuration"); /etc/postfix is only read for the
daemon binaries' location. As root, `postfix -c DIR` accepts a non-default config directory
without it being listed in alternate_config_directories (Postfix only enforces that list for
its set-gid programs postdrop/postqueue, which we do not use: mail enters over SMTP), so there
is no need to write /etc/postfix/main.cf. Postfix needs root to start (master switches its
daemons to mail_owner); as another user start() raises with the reason.

Stopping: `postfix -c DIR stop` signals the master whose PID is in this instance's own
pid/master.pid (the one we started); if it does not go, SIGKILL to that master's process group
(the master is a session leader, so its group holds only its own daemons). Every wait is bounded
and polls a condition.
"""
import os
import pwd
import re
import grp
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from postern_harness import free_port

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"

# Every service the Postfix daemons may ask for, none chrooted (the temp dir is not a chroot).
MASTER_CF_SERVICES = """\
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
proxywrite unix - - n -    1 proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
local     unix  - n n -    - local
virtual   unix  - n n -    - virtual
lmtp      unix  - - n -    - lmtp
anvil     unix  - - n -    1 anvil
tlsmgr    unix  - - n 1000? 1 tlsmgr
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
"""




def _wait_until(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def _pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


def postfix_unavailable_reason():
    """None when a throwaway Postfix can run here, else why not (for a failing test's message)."""
    if not os.path.exists(POSTFIX):
        return "postfix is not installed (scripts/install-deps installs it)"
    if os.geteuid() != 0:
        return "a Postfix instance needs root to start (its master switches to mail_owner)"
    try:
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError as exc:
        return f"the postfix package's user/group is missing: {exc}"
    return None


class PostfixInstance:
    """One real Postfix in a temporary directory. Use as a context manager."""

    def __init__(self, role, relay_port=None, domain="example.test", users=(),
                 mailbox_uid=None, main_cf_extra="", master_cf_extra="", keep=False,
                 start=True, greeting_seconds=1.0):
        if role not in ("relay", "receiver"):
            raise ValueError(f"unknown role {role!r}")
        if role == "relay" and relay_port is None:
            raise ValueError("the relay role needs relay_port")
        self.role = role
        self.relay_port = relay_port
        self.domain = domain
        self.users = list(users)
        self.keep = keep or os.environ.get("POSTERN_KEEP_TEST_DIR") == "1"
        self.root = tempfile.mkdtemp(prefix=f"postfix-{role}-")
        os.chmod(self.root, 0o755)  # the postfix user must reach the queue inside it
        self.etc = os.path.join(self.root, "etc")
        self.spool = os.path.join(self.root, "spool")
        self.data = os.path.join(self.root, "data")
        self.mail = os.path.join(self.root, "mail")
        self.maillog = os.path.join(self.root, "maillog")
        self.smtp_port = free_port()
        self.master_pid = None
        self.greeting_seconds = greeting_seconds  # how long start() waits for smtpd's greeting
        for d in (self.etc, self.spool, self.data, self.mail):
            os.makedirs(d, exist_ok=True)
        try:
            postfix_user = pwd.getpwnam("postfix")
            os.chown(self.data, postfix_user.pw_uid, postfix_user.pw_gid)
        except (KeyError, PermissionError):
            pass  # start() reports why Postfix cannot run here
        if mailbox_uid is None:
            mailbox_uid = self._default_mailbox_uid()
        self.mailbox_uid = mailbox_uid
        self._write_config(main_cf_extra, master_cf_extra)
        if start:
            try:
                self.start()
            except BaseException:
                self.stop()
                sys.stderr.write(f"--- postfix log ({self.maillog}) ---\n{self.log()[-5000:]}\n")
                raise

    @staticmethod
    def _default_mailbox_uid():
        for name in ("postern", "nobody"):
            try:
                entry = pwd.getpwnam(name)
                return entry.pw_uid, entry.pw_gid
            except KeyError:
                continue
        return os.getuid(), os.getgid()

    # ---- configuration -------------------------------------------------------------------
    def _write_config(self, extra, master_cf_extra=""):
        uid, gid = self.mailbox_uid
        lines = [
            "# main.cf written by tests/harness/postfix_instance.py (throwaway instance)",
            "compatibility_level = 3.6",
            f"queue_directory = {self.spool}",
            f"data_directory = {self.data}",
            f"maillog_file = {self.maillog}",
            f"maillog_file_prefixes = {self.root}",
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            f"myhostname = postfix-{self.role}.peer.invalid",
            "mydomain = peer.invalid",
            "mydestination =",
            "mynetworks = 127.0.0.0/8",
            "alias_maps =",
            "alias_database =",
            "biff = no",
            "smtp_dns_support_level = disabled",
            "smtputf8_enable = no",
        ]
        if self.role == "relay":
            # Retry soon after a 4xx or a refused connection: tests wait seconds, not minutes.
            lines += [f"relayhost = [127.0.0.1]:{self.relay_port}",
                      "queue_run_delay = 1s",
                      "minimal_backoff_time = 1s",
                      "maximal_backoff_time = 2s"]
        else:
            # Virtual Maildir delivery, the way Postern stores mail: base/DOMAIN/USER/.
            maps = os.path.join(self.etc, "virtual_mailboxes")
            with open(maps, "w") as f:
                for user in self.users:
                    f.write(f"{user}@{self.domain} {self.domain}/{user}/\n")
            os.chown(self.mail, uid, gid)
            lines += [
                f"virtual_mailbox_domains = {self.domain}",
                f"virtual_mailbox_base = {self.mail}",
                f"virtual_mailbox_maps = texthash:{maps}",
                f"virtual_uid_maps = static:{uid}",
                f"virtual_gid_maps = static:{gid}",
                "virtual_minimum_uid = 1",
            ]
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("\n".join(lines) + "\n" + extra)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("# master.cf written by tests/harness/postfix_instance.py\n")
            f.write(f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd\n")
            f.write(MASTER_CF_SERVICES)
            # master_cf_extra: more services, e.g. a second smtpd with its own -o options (a
            # submission port); its own lines, written as given.
            f.write(master_cf_extra)

    # ---- processes -----------------------------------------------------------------------
    def _postfix(self, *args, timeout=60):
        return subprocess.run([POSTFIX, "-c", self.etc, *args], capture_output=True,
                              text=True, timeout=timeout)

    def start(self, timeout=30.0):
        reason = postfix_unavailable_reason()
        if reason:
            raise RuntimeError(f"cannot start Postfix: {reason}")
        # `check` creates the queue folders with Postfix's owners and modes (post-install).
        for action in ("check", "start"):
            done = self._postfix(action)
            if done.returncode != 0:
                raise RuntimeError(f"postfix {action} failed ({done.returncode}): "
                                   f"{done.stdout}{done.stderr}\n{self.log()[-3000:]}")
        self.master_pid = _wait_until(self._running_master_pid, timeout, "Postfix master.pid")

        def accepts():
            if not _pid_alive(self.master_pid):
                raise RuntimeError("Postfix master exited:\n" + self.log()[-3000:])
            try:
                with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=1) as s:
                    # Any greeting will do: smtpd with milters opens them before it greets,
                    # which takes the milter timeouts when a milter is silent, and a milter
                    # that rejects the connection turns the 220 into a 554.
                    s.settimeout(self.greeting_seconds)
                    return re.match(rb"[2-5][0-9][0-9][ -]", s.recv(512)) is not None
            except OSError:
                return False
        _wait_until(accepts, timeout, f"Postfix smtpd on port {self.smtp_port}")

    def _running_master_pid(self):
        """The PID in this instance's own pid/master.pid, if that process is alive."""
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                pid = int(f.read().split()[0])
            return pid if _pid_alive(pid) else None
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, timeout=30.0):
        pid = self.master_pid or self._running_master_pid()
        if pid is None or not _pid_alive(pid):
            return
        self._postfix("stop", timeout=timeout)
        try:
            _wait_until(lambda: not _pid_alive(pid), timeout, "Postfix master to stop")
        except TimeoutError:
            os.killpg(pid, signal.SIGKILL)
            _wait_until(lambda: not _pid_alive(pid), 10, "Postfix master to die")
        self.master_pid = None

    def log(self):
        try:
            with open(self.maillog, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # ---- mail ----------------------------------------------------------------------------
    def queue_count(self):
        """Messages still in this Postfix's queue (every queue folder, hashed subfolders too)."""
        count = 0
        for folder in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.spool, folder)):
                count += len(files)
        return count

    def maildir(self, user):
        return os.path.join(self.mail, self.domain, user)

    def delivered_count(self):
        """Messages in new/ of every Maildir under virtual_mailbox_base (receiver role)."""
        total = 0
        base = os.path.join(self.mail, self.domain)
        try:
            users = os.listdir(base)
        except FileNotFoundError:
            return 0
        for user in users:
            try:
                total += len(os.listdir(os.path.join(base, user, "new")))
            except FileNotFoundError:
                pass
        return total

    # ---- context manager -----------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop()
        finally:
            if exc_type is not None:
                sys.stderr.write(f"--- postfix log ({self.maillog}) ---\n{self.log()[-10000:]}\n")
            if not self.keep and exc_type is None:
                shutil.rmtree(self.root, ignore_errors=True)
        return False
