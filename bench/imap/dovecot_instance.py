"""A throwaway Dovecot (Debian's dovecot-imapd, 2.3) for the IMAP benchmark and for checking the
imaptest runner: its own configuration, base_dir, state and log in a temporary folder, IMAP on
loopback ports only, users from a passwd-file with the same SHA-512-crypt hashes as the Postern
accounts, Maildirs in a folder we choose (the same tree Postern serves in the benchmark).
The system Dovecot (/etc/dovecot, its systemd unit) is never touched.

Which process: the bench script or a test helper, as root (Dovecot's master needs root to
switch to the mail user). What it trusts: nothing from the network; the Dovecot binaries
installed by the package. Limits: every wait is bounded (a port that accepts, 20 s); the master
is stopped by its own PID, and its whole process group if it leaves children behind.

    with DovecotInstance(mail_root, {"demo@example.test": "secret"}) as dc:
        imaplib.IMAP4("127.0.0.1", dc.imap_port)
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

DOVECOT = "/usr/sbin/dovecot"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hash(password):
    out = subprocess.run(["openssl", "passwd", "-6", password], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


class DovecotInstance:
    """mail_root/<domain>/<local> is each user's Maildir (INBOX), as Postern lays it out."""

    def __init__(self, mail_root, users, mail_user="postern", ssl_cert=None, ssl_key=None,
                 extra_conf="", max_userip_connections=None, process_limit=None):
        self.root = tempfile.mkdtemp(prefix="dovecot-throwaway-")
        os.chmod(self.root, 0o755)
        self.mail_root = os.path.abspath(mail_root)
        self.users = dict(users)
        self.mail_user = mail_user
        self.imap_port = _free_port()
        self.imaps_port = _free_port()
        self.ssl_cert = ssl_cert
        self.ssl_key = ssl_key
        self.extra_conf = extra_conf
        self.max_userip_connections = max_userip_connections
        self.process_limit = process_limit
        self.proc = None
        self.conf_path = os.path.join(self.root, "dovecot.conf")
        self.log_path = os.path.join(self.root, "dovecot.log")

    def _write_config(self):
        pw = pwd.getpwnam(self.mail_user)
        passwd = os.path.join(self.root, "passwd")
        with open(passwd, "w") as f:
            for user, password in self.users.items():
                f.write("%s:{SHA512-CRYPT}%s\n" % (user, _hash(password)))
        os.chmod(passwd, 0o644)
        for sub in ("run", "state"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        if self.ssl_cert is None:
            self.ssl_cert = os.path.join(self.root, "cert.pem")
            self.ssl_key = os.path.join(self.root, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", self.ssl_key, "-out", self.ssl_cert, "-days", "2",
                            "-subj", "/CN=localhost"], check=True, capture_output=True)
        lines = [
            "protocols = imap",
            "listen = 127.0.0.1",
            "base_dir = %s/run" % self.root,
            "state_dir = %s/state" % self.root,
            "log_path = %s" % self.log_path,
            "instance_name = dovecot-throwaway-%d" % os.getpid(),
            "ssl = yes",
            "ssl_cert = <%s" % self.ssl_cert,
            "ssl_key = <%s" % self.ssl_key,
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            "first_valid_uid = 1",
            "mail_location = maildir:%s/%%d/%%n" % self.mail_root,
            "passdb {",
            "  driver = passwd-file",
            "  args = scheme=SHA512-CRYPT username_format=%%u %s" % passwd,
            "}",
            "userdb {",
            "  driver = static",
            "  args = uid=%d gid=%d home=%s/%%d/%%n" % (pw.pw_uid, pw.pw_gid, self.mail_root),
            "}",
            "service imap-login {",
            "  inet_listener imap {",
            "    address = 127.0.0.1",
            "    port = %d" % self.imap_port,
            "  }",
            "  inet_listener imaps {",
            "    address = 127.0.0.1",
            "    port = %d" % self.imaps_port,
            "    ssl = yes",
            "  }",
            "}",
            "service anvil {",
            "  chroot =",
            "}",
        ]
        if self.max_userip_connections:
            lines += ["protocol imap {",
                      "  mail_max_userip_connections = %d" % self.max_userip_connections,
                      "}"]
        if self.process_limit:
            lines += ["service imap {", "  process_limit = %d" % self.process_limit, "}",
                      "service imap-login {", "  process_limit = %d" % self.process_limit, "}",
                      "default_client_limit = %d" % (self.process_limit * 2 + 100)]
        lines.append(self.extra_conf)
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        self._write_config()
        check = subprocess.run([DOVECOT, "-c", self.conf_path, "-n"], capture_output=True,
                               text=True)
        if check.returncode != 0:
            raise RuntimeError("dovecot refuses the configuration: " + check.stderr)
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf_path],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot exited: " + self.proc.stderr.read().decode() +
                                   self.log())
            try:
                with socket.create_connection(("127.0.0.1", self.imap_port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not listen within 20 s")

    def pids(self):
        """The master and every process of its session (imap, imap-login, auth...)."""
        if self.proc is None:
            return []
        sid = self.proc.pid
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[3]) == sid:
                    out.append(int(name))
            except (OSError, IndexError, ValueError):
                continue
        return out

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)   # children left behind, if any
        except OSError:
            pass
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if os.environ.get("POSTERN_KEEP_TEST_DIR") != "1":
            shutil.rmtree(self.root, ignore_errors=True)
