"""The peers relay talks to in the relay tests (tests/peer/test_relay_*.py,
tests/fault/test_relay_faults.py) and bench/smtp-relay, each started on loopback by the test and
stopped by its PID in a finally block (every class here is a context manager):

    TestCa      a throwaway certificate authority (openssl) and server certificates it signs,
                so relay can be told to trust it with smtp_tls_CAfile and verify names
    SmartHost   npm's smtp-server (tests/node/smart_host.js): STARTTLS and AUTH required,
                records each message byte for byte, its envelope and every AUTH attempt;
                answers can be changed while it runs (rcpt/data rules)
    SmtpSink    Postfix's smtp-sink, either dumping each transaction to a file (-d) or only
                counting (-c), for volume and as a plain MX receiver
    Dnsmasq     a DNS server on a free loopback UDP port serving MX/A/AAAA records for test
                domains (relay's smtp_dns_resolver_address points at it)

and helpers to submit mail to a Suite (over our port-25 smtpd from mynetworks, or over
submission with STARTTLS and AUTH), to run `postern queue list|flush`, and to wait for log lines.
Everything binds 127.0.0.x or ::1 only; every wait is bounded (wait_until); nothing is killed
by name.
"""
import glob
import json
import os
import pwd
import random
import re
import shutil
import signal
import smtplib
import socket
import ssl
import struct
import subprocess
import tempfile
import time

from postern_harness import BIN_DIR, SOURCE_DIR, TEST_PASSWORD, free_port, wait_until

NODE = shutil.which("node") or "/usr/bin/node"
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
DNSMASQ = "/usr/sbin/dnsmasq"
NODE_DIR = os.path.abspath(os.path.join(SOURCE_DIR, "tests", "node"))
POSTERN_CLI = os.path.join(BIN_DIR, "postern")


def _stop_process(process, timeout=10.0):
    """SIGTERM, then SIGKILL if it does not go; only the process we started."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def port_accepts(host, port, expect_banner=None, timeout=1.0):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect((host, port))
            if expect_banner is None:
                return True
            return s.recv(512).startswith(expect_banner)
    except OSError:
        return False


# ---- certificates --------------------------------------------------------------------------
class TestCa:
    """A CA made for one test; server_cert() issues leaf certificates with chosen SANs."""

    def __init__(self, directory, name="Postern Test CA"):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.cert = os.path.join(directory, "ca.pem")
        self.key = os.path.join(directory, "ca.key")
        self._openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                      "-subj", f"/CN={name}", "-keyout", self.key, "-out", self.cert,
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    @staticmethod
    def _openssl(*args):
        done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"openssl {args[0]} failed: {done.stderr}")

    def server_cert(self, name, common_name, subject_alt_names):
        """(cert, key) paths; subject_alt_names like ["DNS:smarthost.test", "IP:127.0.0.1"]."""
        key = os.path.join(self.dir, f"{name}.key")
        csr = os.path.join(self.dir, f"{name}.csr")
        cert = os.path.join(self.dir, f"{name}.pem")
        ext = os.path.join(self.dir, f"{name}.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n"
                    f"subjectAltName={','.join(subject_alt_names)}\n")
        self._openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj",
                      f"/CN={common_name}", "-keyout", key, "-out", csr)
        self._openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                      "-CAcreateserial", "-days", "2", "-sha256", "-extfile", ext, "-out", cert)
        # The node process reads the key as whoever runs the test; relay never sees it.
        return cert, key


# ---- the smart host (npm smtp-server) ------------------------------------------------------
class SmartHost:
    """tests/node/smart_host.js on host:port, needing STARTTLS then AUTH user/password."""

    def __init__(self, directory, cert, key, user, password, port=None, host="127.0.0.1",
                 name="smarthost.test", implicit_tls=False, start=True):
        self.dir = directory
        self.outdir = os.path.join(directory, "received")
        self.rules_path = os.path.join(directory, "rules.json")
        self.log_path = os.path.join(directory, "smart_host.log")
        self.host = host
        self.port = port or free_port()
        self.user = user
        self.password = password
        self.config_path = os.path.join(directory, "smart_host.json")
        os.makedirs(self.outdir, exist_ok=True)
        with open(self.config_path, "w") as f:
            json.dump({"host": host, "port": self.port, "key": key, "cert": cert, "user": user,
                       "password": password, "outdir": self.outdir, "rules": self.rules_path,
                       "name": name, "implicitTls": implicit_tls}, f)
        self.process = None
        self._log = None
        if start:
            self.start()

    def start(self, timeout=20.0):
        if not os.access(NODE, os.X_OK):
            raise RuntimeError("node is not installed (scripts/install-deps installs it)")
        if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "smtp-server")):
            raise RuntimeError(f"smtp-server missing in {NODE_DIR}/node_modules "
                               "(scripts/install-deps runs npm ci there)")
        self._log = open(self.log_path, "ab")
        env = dict(os.environ, NODE_PATH=os.path.join(NODE_DIR, "node_modules"))
        self.process = subprocess.Popen([NODE, os.path.join(NODE_DIR, "smart_host.js"),
                                         self.config_path], stdout=self._log,
                                        stderr=subprocess.STDOUT, env=env, cwd=NODE_DIR)

        def ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"smart_host.js exited with {self.process.returncode}:\n"
                                   + self.log())
            return "READY" in self.log()
        try:
            wait_until(ready, timeout, 0.05, "smart_host.js to listen")
        except BaseException:
            self.stop()  # the constructor raises: nobody else holds this process
            raise
        return self

    def stop(self):
        try:
            _stop_process(self.process)
        finally:
            self.process = None
            if self._log:
                self._log.close()
                self._log = None
            # the next start() waits for a fresh READY line
            try:
                os.replace(self.log_path, self.log_path + ".old")
            except OSError:
                pass

    def log(self):
        return _read(self.log_path)

    def set_rules(self, rcpt=None, data=None):
        """rcpt: {address: (code, text)}; data: (code, text, times or None). None clears."""
        rules = {}
        if rcpt:
            rules["rcpt"] = {a.lower(): {"code": c, "message": m} for a, (c, m) in rcpt.items()}
        if data:
            code, message, times = data
            rules["data"] = {"code": code, "message": message}
            if times is not None:
                rules["data"]["times"] = times
        tmp = self.rules_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(rules, f)
        os.replace(tmp, self.rules_path)

    def messages(self):
        """[(envelope dict, raw bytes)] of every completed message, in arrival order."""
        found = []
        for meta in glob.glob(os.path.join(self.outdir, "msg-*.json")):
            number = int(re.search(r"msg-(\d+)\.json$", meta).group(1))
            with open(meta) as f:
                envelope = json.load(f)
            with open(meta[:-len(".json")] + ".eml", "rb") as f:
                found.append((number, envelope, f.read()))
        return [(e, b) for _, e, b in sorted(found, key=lambda item: item[0])]

    def events(self, kind=None):
        path = os.path.join(self.outdir, "events.jsonl")
        try:
            with open(path) as f:
                events = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []
        return [e for e in events if kind is None or e.get("event") == kind]

    def wait_for_messages(self, count, timeout=30.0, suite=None):
        try:
            return wait_until(lambda: len(self.messages()) >= count and self.messages(),
                              timeout, 0.05, f"{count} messages at the smart host")
        except TimeoutError:
            extra = ("\n--- postern log ---\n" + suite.log()[-6000:]) if suite else ""
            raise TimeoutError(f"{len(self.messages())} of {count} messages reached the smart "
                               f"host; events: {self.events()[-10:]}{extra}") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


# ---- Postfix's smtp-sink -------------------------------------------------------------------
class SmtpSink:
    """smtp-sink on host:port. dump=True: each transaction to a file (-d) in self.dump_dir;
    else counting only (-c, the fast mode for benchmarks). extra_args: more smtp-sink options
    (e.g. ["-f", "RCPT"] to refuse every RCPT with 5xx)."""

    def __init__(self, directory, host="127.0.0.1", port=None, dump=True, extra_args=(),
                 name="smtp-sink.test", start=True):
        self.dir = directory
        self.host = host
        self.port = port or free_port()
        self.dump = dump
        self.dump_dir = os.path.join(directory, f"dump-{self.host}-{self.port}")
        self.log_path = os.path.join(directory, f"smtp-sink-{self.port}.log")
        self.extra_args = list(extra_args)
        self.name = name
        self.process = None
        self._log = None
        os.makedirs(self.dump_dir, exist_ok=True)
        if os.geteuid() == 0:
            # as root smtp-sink needs -u; the dump folder must be writable by that user
            entry = pwd.getpwnam("postfix")
            os.chown(self.dump_dir, entry.pw_uid, entry.pw_gid)
        if start:
            self.start()

    def start(self, timeout=20.0):
        if not os.access(SMTP_SINK, os.X_OK):
            raise RuntimeError("smtp-sink is not installed (postfix package)")
        address = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        # A fixed port (25 for the MX test) may be held by someone else's sink: then ours would
        # fail to bind while the port still answers 220, and mail would go to the wrong one.
        if port_accepts(self.host, self.port, b"220"):
            raise RuntimeError(f"{address} is already served by another process")
        command = [SMTP_SINK, "-h", self.name, "-t", "30", "-m", "512"]
        if os.geteuid() == 0:
            command += ["-u", "postfix"]
        if self.dump:
            # "%H" keeps the template's directory part fixed; smtp-sink appends a random suffix
            command += ["-d", os.path.join(self.dump_dir, "msg.")]
        else:
            command += ["-c"]
        command += self.extra_args + [address, "256"]
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)

        def ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"smtp-sink exited with {self.process.returncode}:\n"
                                   + _read(self.log_path))
            return port_accepts(self.host, self.port, b"220")
        try:
            wait_until(ready, timeout, 0.05, f"smtp-sink on {address}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        try:
            _stop_process(self.process)
        finally:
            self.process = None
            if self._log:
                self._log.close()
                self._log = None

    def log(self):
        return _read(self.log_path)

    def dump_files(self):
        """The finished dumps. smtp-sink creates a dump at DATA and writes it as the message
        arrives, so a file it still holds open is a transaction in progress. The folder is
        listed before the open files: a dump closed in between counts, one opened does not."""
        paths = sorted(glob.glob(os.path.join(self.dump_dir, "msg.*")))
        open_now = self._open_files()
        return [p for p in paths if os.path.realpath(p) not in open_now]

    def _open_files(self):
        if self.process is None:
            return set()
        fd_dir = f"/proc/{self.process.pid}/fd"
        found = set()
        try:
            names = os.listdir(fd_dir)
        except FileNotFoundError:
            return found
        for name in names:
            try:
                found.add(os.readlink(os.path.join(fd_dir, name)))
            except OSError:
                pass
        return found

    def transactions(self):
        """[(mail_args, [rcpt_args], message bytes)] of the finished transactions."""
        found = []
        for path in self.dump_files():
            with open(path, "rb") as f:
                data = f.read()
            mail_args = None
            rcpts = []
            lines = data.split(b"\n")
            index = 0
            while index < len(lines) and lines[index].startswith(b"X-"):
                key, _, value = lines[index].partition(b": ")
                if key == b"X-Mail-Args":
                    mail_args = value.decode(errors="replace")
                elif key == b"X-Rcpt-Args":
                    rcpts.append(value.decode(errors="replace"))
                index += 1
            # then smtp-sink's own three-line Received: header, then the message
            body_lines = lines[index:]
            if body_lines and body_lines[0].startswith(b"Received: from"):
                body_lines = body_lines[3:]
            found.append((mail_args, rcpts, b"\n".join(body_lines)))
        return found

    def message_count(self):
        """Messages received: dump files (dump mode), or the last '.' counter (-c mode)."""
        if self.dump:
            return len(self.dump_files())
        return counted_messages(self.log())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def counted_messages(counter_output):
    """smtp-sink -c prints "sess=N quit=N mesg=N" after each session end, QUIT and final dot
    (updates separated by carriage returns); the last message counter wins."""
    found = re.findall(r"mesg=(\d+)", counter_output)
    return int(found[-1]) if found else 0


# ---- dnsmasq -------------------------------------------------------------------------------
def _dns_query(name, qtype=15):
    header = struct.pack("!HHHHHH", random.randint(0, 0xFFFF), 0x0100, 1, 0, 0, 0)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return header + question + struct.pack("!HH", qtype, 1)


class Dnsmasq:
    """dnsmasq on 127.0.0.1:<free UDP port>, authoritative-looking for records given as
    dnsmasq options: mx=[(domain, host, preference)], hosts=[(name, [addresses])]. Names under
    .test that are not configured get NXDOMAIN (--local=/test/)."""

    def __init__(self, directory, mx=(), hosts=(), extra_args=(), start=True):
        self.dir = directory
        self.log_path = os.path.join(directory, "dnsmasq.log")
        self.args = ["--local=/test/"]
        for domain, host, preference in mx:
            self.args.append(f"--mx-host={domain},{host},{preference}")
        for name, addresses in hosts:
            self.args.append(f"--host-record={name},{','.join(addresses)}")
        self.args += list(extra_args)
        self.port = None
        self.process = None
        if start:
            self.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"


    def answers(self, name="probe.test"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(_dns_query(name), ("127.0.0.1", self.port))
                return len(s.recv(512)) > 12
            except OSError:
                return False

    def start(self, timeout=10.0):
        if not os.access(DNSMASQ, os.X_OK):
            raise RuntimeError("dnsmasq missing (Debian dnsmasq-base; scripts/install-deps)")
        for _ in range(5):  # a port picked free may be taken before dnsmasq binds it
            self.port = free_port(socket.SOCK_DGRAM)
            command = [DNSMASQ, "--no-daemon", "--keep-in-foreground", "--no-resolv",
                       "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--user=nobody",
                       f"--port={self.port}", "--listen-address=127.0.0.1",
                       "--bind-interfaces", "--log-queries", f"--log-facility={self.log_path}",
                       *self.args]
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if self.answers():
                    return self
            err = b""
            if self.process.poll() is not None:
                err = self.process.stderr.read()
            _stop_process(self.process)
            self.process = None
            last_error = err.decode(errors="replace")
        raise RuntimeError(f"dnsmasq did not start: {last_error}")

    def stop(self):
        try:
            _stop_process(self.process)
        finally:
            self.process = None

    def log(self):
        return _read(self.log_path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


# ---- Postern side --------------------------------------------------------------------------
def write_table(suite, name, lines):
    """A postmap-format text file in the suite's etc/; returns its path."""
    path = os.path.join(suite.etc, name)
    with open(path, "w") as f:
        f.write("# written by tests/harness/relay_peers.py\n")
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def postern_cli(suite, *args, timeout=30):
    """build/bin/postern -c <suite etc> <args>; returns the CompletedProcess."""
    if not os.access(POSTERN_CLI, os.X_OK):
        raise RuntimeError(f"{POSTERN_CLI} is not built (cli/)")
    return subprocess.run([POSTERN_CLI, "-c", suite.etc, *args], capture_output=True, text=True,
                          timeout=timeout)


def queue_list(suite):
    done = postern_cli(suite, "queue", "list")
    if done.returncode != 0:
        raise RuntimeError(f"postern queue list failed ({done.returncode}): "
                           f"{done.stdout}{done.stderr}")
    return done.stdout


def queue_flush(suite):
    done = postern_cli(suite, "queue", "flush")
    if done.returncode != 0:
        raise RuntimeError(f"postern queue flush failed ({done.returncode}): "
                           f"{done.stdout}{done.stderr}")
    return done.stdout


def log_lines(suite, pattern):
    regex = re.compile(pattern)
    return [line for line in suite.log().splitlines() if regex.search(line)]


def wait_for_log(suite, pattern, count=1, timeout=30.0):
    """Waits until at least count lines of the suite's log match pattern; returns them."""
    try:
        return wait_until(lambda: len(log_lines(suite, pattern)) >= count
                          and log_lines(suite, pattern), timeout, 0.05,
                          f"{count} log lines matching {pattern!r}")
    except TimeoutError:
        raise TimeoutError(f"no {count} log lines matching {pattern!r} within {timeout}s\n"
                           + suite.log()[-6000:]) from None


def client_tls_context():
    """For submitting to the suite: its certificate is self-signed, the test trusts it."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def has_submission(suite):
    return suite.has_program("submission")


def submit(suite, sender, recipients, message, via=None, user=None, password=TEST_PASSWORD):
    """Submits message (bytes) to the suite and returns the queue ID from the 250 reply.
    via="submission": port submission_port, STARTTLS, AUTH as user (default: the sender);
    via="smtpd": port 25 from 127.0.0.1 (the test's main.cf must put it in mynetworks);
    None: submission when it is built, else smtpd."""
    if via is None:
        via = "submission" if has_submission(suite) else "smtpd"
    if via == "submission":
        client = smtplib.SMTP("127.0.0.1", suite.submission_port, local_hostname="client.test",
                              timeout=30)
        try:
            client.ehlo()
            client.starttls(context=client_tls_context())
            client.ehlo()
            client.login(user or sender, password)
            return _send(client, sender, recipients, message)
        finally:
            _quit(client)
    client = smtplib.SMTP("127.0.0.1", suite.smtp_port, local_hostname="client.test", timeout=30)
    try:
        return _send(client, sender, recipients, message)
    finally:
        _quit(client)


def _send(client, sender, recipients, message):
    client.mail(sender)
    for rcpt in recipients:
        code, reply = client.rcpt(rcpt)
        if code != 250:
            raise smtplib.SMTPRecipientsRefused({rcpt: (code, reply)})
    code, reply = client.data(message)
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)
    found = re.search(rb"queued as ([0-9A-Za-z]+)", reply)
    return found.group(1).decode() if found else reply.decode(errors="replace")


def _quit(client):
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def make_message(sender, recipients, subject, body_lines=20, extra_headers=(), marker=None):
    """A plain CRLF message with Message-ID and Date, so submission adds neither and the test
    can compare it byte for byte with what the smart host receives."""
    marker = marker or f"{time.time_ns():x}{random.randint(0, 1 << 30):x}"
    headers = [f"From: <{sender}>", f"To: {', '.join('<' + r + '>' for r in recipients)}",
               f"Subject: {subject}", f"Message-ID: <{marker}@client.test>",
               "Date: Mon, 23 Nov 2026 06:00:00 +0000", "MIME-Version: 1.0",
               "Content-Type: text/plain; charset=us-ascii", *extra_headers]
    body = [f"line {i} of {marker}: the quick brown fox jumps over the lazy dog"
            for i in range(body_lines)]
    # A line that begins with a dot: dot-stuffing must be undone byte-exactly on both hops.
    body.append(".a line that starts with a dot")
    body.append("   trailing spaces kept   ")
    return ("\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(body) + "\r\n").encode(), marker


def split_header(raw):
    """(header block, body) of a CRLF or LF message, the blank line not in either."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in raw:
            head, body = raw.split(sep, 1)
            return head, body
    return raw, b""


def header_fields(head):
    """The header block as a list of whole fields (continuation lines joined with their CRLF)."""
    fields = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    return fields


def temp_dir(prefix):
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o755)
    return path
