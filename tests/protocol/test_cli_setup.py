#!/usr/bin/env python3
"""`postern setup`, each of the four modes, as the Debian package's postinst runs it: the main.cf
it writes passes `postern-master -t`, a second run leaves it byte for byte, and a suite started
on it does what the mode promises (postern(8), setup):

- internet: mail for our domain is accepted on port 25, relaying to another domain from
  127.0.0.1 is refused (mynetworks stays empty), --listen moves the listeners;
- smarthost and satellite: mail for other domains (and, in satellite, root's own mail) goes to
  the relay host (Postfix's smtp-sink on a loopback port); with --relay-user the relay logs in
  with the password read from stdin (npm's smtp-server as the smart host), and that password is
  only in relay_credentials (0600, root), never in main.cf, never on a command line;
- satellite and local: master binds a service without a host on loopback only;
- local: mail for our users is delivered, mail for another domain bounces and never leaves.

Setup runs on the Suite's own etc/ (its main.cf holds the test's paths, which setup keeps), and
on a fresh folder with the shipped master.cf and accounts.yaml.
"""
import os
import pty
import re
import select
import shutil
import smtplib
import stat
import subprocess
import tempfile
import termios
import time

from postern_harness import BIN_DIR, SOURCE_DIR, Suite, free_port, run_tests, wait_until
from relay_peers import SmartHost, SmtpSink, TestCa, port_accepts, temp_dir, wait_for_log

POSTERN = os.path.join(BIN_DIR, "postern")
MASTER = os.path.join(BIN_DIR, "postern-master")
SENDMAIL = os.path.join(BIN_DIR, "sendmail")
MODES = ("internet", "smarthost", "satellite", "local")
RELAY_USER = "resend"
RELAY_PASSWORD = "re_Setup_Secret_0815"


def setup(etc, *args, password=None, check=True):
    done = subprocess.run([POSTERN, "-c", etc, "setup", *args], capture_output=True, text=True,
                          input=password, timeout=60)
    if check:
        assert done.returncode == 0, f"setup {args} exited {done.returncode}:\n" \
            f"{done.stdout}{done.stderr}"
    return done


def master_check(etc):
    done = subprocess.run([MASTER, "-c", etc, "-t"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"postern-master -t refused {etc}:\n{done.stdout}{done.stderr}"
    return done


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main_cf_value(etc, name):
    """The last setting of name in etc/main.cf (continuation lines joined), or None."""
    value = None
    current = None
    for line in read(os.path.join(etc, "main.cf")).decode().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t":
            if current == name:
                value += " " + line.strip()
            continue
        current = line.split("=", 1)[0].strip()
        if current == name:
            value = line.split("=", 1)[1].strip()
    return value


def mode_args(mode, relayhost="[127.0.0.1]:2525"):
    args = ["--mode", mode, "--mailname", "mx.example.test"]
    if mode in ("smarthost", "satellite"):
        args += ["--relayhost", relayhost]
    if mode in ("internet", "smarthost", "local"):
        args += ["--domain", "example.test"]
    return args


def sendmail(suite, sender, recipients, subject):
    text = (f"From: <{sender}>\nSubject: {subject}\nMessage-ID: <{subject}@example.test>\n"
            f"Date: Mon, 7 Dec 2026 10:00:00 +0000\n\nbody of {subject}\n")
    done = subprocess.run([SENDMAIL, "-C", suite.etc, "-f", sender, "-i", *recipients],
                          input=text.encode(), capture_output=True, timeout=60)
    assert done.returncode == 0, f"sendmail exited {done.returncode}: {done.stderr!r}"


def smtp_rcpt_codes(port, recipients, sender="someone@elsewhere.example"):
    codes = {}
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30) as client:
        client.ehlo()
        client.mail(sender)
        for rcpt in recipients:
            codes[rcpt] = client.rcpt(rcpt)[0]
        client.rset()
    return codes


def listening_addresses(port):
    """Local addresses with a TCP listener on port, from /proc/net/tcp and tcp6."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if int(port_hex, 16) != port or fields[3] != "0A":  # 0A: LISTEN
                continue
            found.add(address if len(address) == width else address)
    return found


def test_every_mode_in_a_fresh_folder():
    for mode in MODES:
        etc = tempfile.mkdtemp(prefix=f"postern-setup-{mode}-")
        try:
            shutil.copy(os.path.join(SOURCE_DIR, "etc", "master.cf"), etc)
            shutil.copy(os.path.join(SOURCE_DIR, "etc", "accounts.yaml"), etc)
            first = setup(etc, *mode_args(mode))
            assert "from the shipped main.cf" in first.stdout, first.stdout
            master_check(etc)
            text = read(os.path.join(etc, "main.cf"))
            # The shipped comments are there, and the note about the mode.
            assert b"# ---- Who may relay ----" in text
            assert f"# Mode: {mode} -- ".encode() in text, text[:600]
            assert read(os.path.join(etc, "mailname")) == b"mx.example.test\n"
            assert main_cf_value(etc, "myorigin") == os.path.join(etc, "mailname")
            assert main_cf_value(etc, "mynetworks") == "", "mynetworks must stay empty"
            loopback = mode in ("satellite", "local")
            assert main_cf_value(etc, "inet_interfaces") == \
                ("loopback-only" if loopback else "all")
            relayhost = main_cf_value(etc, "relayhost")
            assert relayhost == ("[127.0.0.1]:2525" if mode in ("smarthost", "satellite")
                                 else ""), relayhost
            # Idempotent: the same run again leaves every byte, and says so.
            again = setup(etc, *mode_args(mode))
            assert read(os.path.join(etc, "main.cf")) == text, "second run changed main.cf"
            assert "change " not in again.stdout, again.stdout
            assert "unchanged" in again.stdout, again.stdout
            # --dry-run of another mode writes nothing.
            other = "local" if mode != "local" else "internet"
            dry = setup(etc, *mode_args(other), "--dry-run")
            assert "dry run" in dry.stdout and "would change" in dry.stdout, dry.stdout
            assert read(os.path.join(etc, "main.cf")) == text, "--dry-run wrote main.cf"
        finally:
            shutil.rmtree(etc, ignore_errors=True)


def test_refused_inputs_write_nothing():
    with Suite(start=False) as suite:
        before = read(os.path.join(suite.etc, "main.cf"))
        for args in (["--mode", "bogus"], ["--mode", "smarthost"],
                     ["--mode", "internet", "--relayhost", "h"],
                     ["--mode", "internet", "--domain", "bad domain"],
                     ["--mode", "internet", "--domain", "a\nmynetworks = 0.0.0.0/0"],
                     ["--mode", "internet", "--mailname", "x" * 300],
                     ["--mode", "smarthost", "--relayhost", "h:99999"],
                     ["--mode", "satellite", "--relayhost", "h", "--relay-user", "u"],
                     ["--mode", "internet", "--listen", "eth0"],
                     ["--mode", "local", "extra"]):
            done = setup(suite.etc, *args, check=False)
            assert done.returncode == 2, f"{args}: exit {done.returncode} {done.stderr}"
        done = setup(suite.etc, "--mode", "smarthost", "--relayhost", "h", "--relay-user", "u",
                     "--relay-password-stdin", password="p" * 2000 + "\n", check=False)
        assert done.returncode == 2, done.stderr
        assert read(os.path.join(suite.etc, "main.cf")) == before
        assert not os.path.exists(os.path.join(suite.etc, "relay_credentials"))
        # A folder whose name would be expanded or split in main.cf's values.
        odd = os.path.join(suite.root, "etc$x")
        os.makedirs(odd)
        done = setup(odd, "--mode", "local", check=False)
        assert done.returncode == 2 and "cannot be named in main.cf" in done.stderr, done.stderr
        assert os.listdir(odd) == []
        assert not [n for n in os.listdir(suite.etc) if "postern-tmp" in n]


def test_internet_accepts_our_domain_refuses_relaying_and_listen_moves_listeners():
    extra_port = free_port()
    with Suite(start=False) as suite:
        suite.write_master_cf(suite.default_services()
                              + [f"{extra_port} inet n - n - - smtpd"])
        setup(suite.etc, *mode_args("internet"), "--listen", "127.0.0.1")
        assert main_cf_value(suite.etc, "inet_interfaces") == "127.0.0.1"
        master_check(suite.etc)
        suite.start()
        wait_until(lambda: port_accepts("127.0.0.1", extra_port), 20, what="extra listener")
        assert listening_addresses(extra_port) == {"0100007F"}, listening_addresses(extra_port)
        codes = smtp_rcpt_codes(suite.smtp_port, ["demo@example.test", "user@other.example"])
        assert codes == {"demo@example.test": 250, "user@other.example": 554}, codes
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=30) as client:
            client.sendmail("someone@elsewhere.example", ["demo@example.test"],
                            b"Subject: internet mode\r\n\r\nhello\r\n")
        suite.wait_for_mail("demo@example.test", 1)


def test_smarthost_and_satellite_send_through_the_relay_host():
    sink_dir = temp_dir("setup-sink-")
    try:
        with SmtpSink(sink_dir) as sink:
            for mode in ("smarthost", "satellite"):
                with Suite(start=False) as suite:
                    setup(suite.etc, *mode_args(mode, f"127.0.0.1:{sink.port}"))
                    assert main_cf_value(suite.etc, "relayhost") == f"[127.0.0.1]:{sink.port}"
                    master_check(suite.etc)
                    suite.start()
                    sendmail(suite, "demo@example.test", [f"{mode}@remote.test"], f"{mode}-out")
                    wanted = [f"<{mode}@remote.test>"]
                    # Satellite: root's own mail (root@<mailname>, as cron sends it) leaves too.
                    if mode == "satellite":
                        sendmail(suite, "demo@example.test", ["root"], f"{mode}-root")
                        wanted.append("<root@mx.example.test>")

                    def arrived():
                        rcpts = [r for _, rs, _ in sink.transactions() for r in rs]
                        return all(any(r.startswith(w) for r in rcpts) for w in wanted)
                    wait_until(arrived, 30, what=f"{mode}: {wanted} at the relay host")
                    wait_for_log(suite, rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{sink.port}.*"
                                        r"status=sent")
    finally:
        shutil.rmtree(sink_dir, ignore_errors=True)


def test_smarthost_login_from_stdin():
    work = temp_dir("setup-smarthost-")
    host = None
    try:
        ca = TestCa(os.path.join(work, "ca"))
        cert, key = ca.server_cert("smarthost", "smarthost.test", ["IP:127.0.0.1"])
        host = SmartHost(work, cert, key, RELAY_USER, RELAY_PASSWORD)
        with Suite(start=False, main_cf_extra=f"smtp_tls_CAfile = {ca.cert}\n") as suite:
            # The password goes through stdin: while setup waits for it, its command line
            # (what ps shows) does not hold it.
            process = subprocess.Popen(
                [POSTERN, "-c", suite.etc, "setup", *mode_args("smarthost",
                                                               f"127.0.0.1:{host.port}"),
                 "--relay-user", RELAY_USER, "--relay-password-stdin"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                def cmdline():
                    with open(f"/proc/{process.pid}/cmdline", "rb") as f:
                        return f.read()
                # Past exec: the command line is setup's (it then waits for stdin).
                wait_until(lambda: b"--relay-password-stdin" in cmdline(), 10, what="exec")
                assert RELAY_USER.encode() in cmdline()
                assert RELAY_PASSWORD.encode() not in cmdline()
            finally:
                out, err = process.communicate((RELAY_PASSWORD + "\n").encode(), timeout=60)
            assert process.returncode == 0, out.decode() + err.decode()
            assert RELAY_PASSWORD.encode() not in out + err, "setup printed the password"

            credentials = os.path.join(suite.etc, "relay_credentials")
            info = os.stat(credentials)
            assert stat.S_IMODE(info.st_mode) == 0o600, oct(info.st_mode)
            assert info.st_uid == 0 or os.geteuid() != 0, info.st_uid
            assert f"[127.0.0.1]:{host.port} {RELAY_USER}:{RELAY_PASSWORD}\n".encode() in \
                read(credentials)
            assert RELAY_PASSWORD.encode() not in read(os.path.join(suite.etc, "main.cf"))
            assert main_cf_value(suite.etc, "smtp_sasl_password_maps") == \
                f"texthash:{credentials}"
            assert main_cf_value(suite.etc, "smtp_tls_security_level") == "verify"
            master_check(suite.etc)

            suite.start()
            sendmail(suite, "demo@example.test", ["someone@remote.test"], "smarthost-auth")
            (envelope, _), = host.wait_for_messages(1, 30, suite)
            assert envelope["user"] == RELAY_USER and envelope["secure"], envelope
            auths = host.events("auth")
            assert auths and all((a["user"], a["password"], a["ok"]) ==
                                 (RELAY_USER, RELAY_PASSWORD, True) for a in auths), auths
            assert RELAY_PASSWORD not in suite.log()
    finally:
        if host is not None:
            host.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_relay_password_typed_at_a_terminal():
    """--relay-password-stdin on a terminal: asked twice with echo off, never shown."""
    with Suite(start=False) as suite:
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(POSTERN, [POSTERN, "-c", suite.etc, "setup",
                               *mode_args("satellite", "[127.0.0.1]:2525"),
                               "--relay-user", RELAY_USER, "--relay-password-stdin"])
        seen = b""
        try:
            for prompt in (b"New password for ", b"Retype it: "):
                deadline = time.monotonic() + 30
                while prompt not in seen and time.monotonic() < deadline:
                    if select.select([fd], [], [], 1)[0]:
                        seen += os.read(fd, 1024)
                assert prompt in seen, seen
                assert not termios.tcgetattr(fd)[3] & termios.ECHO, "echo on at the prompt"
                os.write(fd, RELAY_PASSWORD.encode() + b"\n")
                time.sleep(0.05)  # the next prompt comes after the line is read
            while True:
                try:
                    chunk = os.read(fd, 1024)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
        finally:
            _, status = os.waitpid(pid, 0)
            os.close(fd)
        assert os.waitstatus_to_exitcode(status) == 0, seen
        assert RELAY_PASSWORD.encode() not in seen, "the typed password was echoed"
        assert f"[127.0.0.1]:2525 {RELAY_USER}:{RELAY_PASSWORD}\n".encode() in \
            read(os.path.join(suite.etc, "relay_credentials"))


def test_loopback_only_modes_bind_loopback():
    for mode in ("satellite", "local"):
        extra_port = free_port()
        with Suite(start=False) as suite:
            # A service that names no host listens where inet_interfaces says.
            suite.write_master_cf(suite.default_services()
                                  + [f"{extra_port} inet n - n - - smtpd"])
            setup(suite.etc, *mode_args(mode))
            assert main_cf_value(suite.etc, "inet_interfaces") == "loopback-only"
            suite.start()
            wait_until(lambda: port_accepts("127.0.0.1", extra_port), 20, what="loopback port")
            found = listening_addresses(extra_port)
            # 127.0.0.1, and ::1 where the machine has it; never 0.0.0.0 or ::.
            assert "0100007F" in found, found
            assert found <= {"0100007F", "00000000000000000000000001000000"}, found


def test_setup_reloads_a_running_master():
    with Suite() as suite:
        reloads = suite.log().count("reload -- configuration")
        done = setup(suite.etc, *mode_args("internet"), "--listen", "loopback")
        assert re.search(r"postern-master \(pid \d+\) reloaded", done.stdout), done.stdout
        wait_until(lambda: suite.log().count("reload -- configuration") > reloads, 20,
                   what="master's reload line")
        # Nothing to change the second time; the check and the reload still run.
        again = setup(suite.etc, *mode_args("internet"), "--listen", "loopback")
        assert "change " not in again.stdout and "reloaded" in again.stdout, again.stdout
        wait_until(lambda: suite.log().count("reload -- configuration") > reloads + 1, 20,
                   what="the second reload line")

        # The reloaded suite still refuses relaying (a session may meet a worker of the old
        # generation on its way out: then the next one is asked).
        def session():
            try:
                return smtp_rcpt_codes(suite.smtp_port, ["demo@example.test",
                                                         "user@other.example"])
            except (smtplib.SMTPServerDisconnected, ConnectionError):
                return None
        codes = wait_until(session, 20, what="an SMTP session after the reload")
        assert codes == {"demo@example.test": 250, "user@other.example": 554}, codes


def test_local_delivers_here_and_bounces_other_domains():
    with Suite(start=False) as suite:
        setup(suite.etc, *mode_args("local"))
        table = read(os.path.join(suite.etc, "transport_local_only"))
        assert b"\n*\tlocal:\n" in table, table
        master_check(suite.etc)
        suite.start()
        # From the network: still no relaying.
        codes = smtp_rcpt_codes(suite.smtp_port, ["demo@example.test", "user@other.example"])
        assert codes == {"demo@example.test": 250, "user@other.example": 554}, codes
        # From sendmail: ours delivered; another domain bounced back to the sender.
        sendmail(suite, "demo@example.test", ["alice@example.test"], "local-in")
        suite.wait_for_mail("alice@example.test", 1)
        sendmail(suite, "demo@example.test", ["someone@remote.test"], "local-out")
        wait_for_log(suite, r"to=<someone@remote\.test>.*status=bounced")
        bounce = suite.wait_for_mail("demo@example.test", 1)
        assert b"someone@remote.test" in read(bounce[0])
        assert not re.search(r"to=<someone@remote\.test>.*relay=(?!none)", suite.log()), \
            "the local mode sent mail towards another host"


if __name__ == "__main__":
    run_tests([test_every_mode_in_a_fresh_folder, test_refused_inputs_write_nothing,
               test_internet_accepts_our_domain_refuses_relaying_and_listen_moves_listeners,
               test_smarthost_and_satellite_send_through_the_relay_host,
               test_smarthost_login_from_stdin, test_relay_password_typed_at_a_terminal,
               test_loopback_only_modes_bind_loopback,
               test_setup_reloads_a_running_master,
               test_local_delivers_here_and_bounces_other_domains])
