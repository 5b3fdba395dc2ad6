#!/usr/bin/env python3
"""The Debian package, built and installed as an admin would: scripts/package builds the .deb
(or POSTERN_DEB names one), lintian reports no error, and in throwaway Debian 12 roots
(tests/harness/debian_root.py: mmdebstrap once, unpacked afresh for every case, own mount,
network and PID namespaces, commands through chroot; no systemd, so the init script runs Postern)
where exim4-daemon-light, bsd-mailx and cron are installed:
  - `apt install ./postern_*.deb` removes exim4 and starts Postern; cron's sendmail command,
    bsd-mailx's `mail -s` and `sendmail -oi -t` deliver to where /etc/aliases sends root
    (root: alice, /var/mail/alice); mailq works; `apt remove` leaves no Postern process;
    `apt purge` leaves no /etc/postern, spool, data folder, user or group, and keeps /var/mail;
  - each debconf type (internet, smarthost, satellite, local) preseeded: the main.cf that
    `postern setup` wrote passes `postern-master -t` and says what the type means (local and
    satellite listen on loopback only, smarthost and satellite have the relayhost and its
    login, nobody relays by address: mynetworks stays empty); dpkg-reconfigure applies a new
    answer; "No configuration" writes no main.cf and starts nothing.

The roots' init system: a policy-rc.d in each root allows invoke-rc.d to start and stop postern
only (a chroot has no runlevel, and Debian's default there is to start nothing), so the
package's own maintainer scripts start it at install and stop it at remove.

Needs root; skipped (77) when not root or when mmdebstrap cannot reach an archive.
Environment: POSTERN_DEB=path uses that .deb instead of building one; POSTERN_KEEP_TARBALL=path
keeps (or reuses) the mmdebstrap tarball there.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import debian_root  # noqa: E402
from debian_root import DebianRoot  # noqa: E402
from postern_harness import run_tests, skip_test, wait_until  # noqa: E402

SOURCE_DIR = os.environ.get("POSTERN_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("POSTERN_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
# What the throwaway roots start with, besides what the .deb depends on and recommends: an MTA to
# replace, and the programs whose mail must keep arriving.
BASE_PACKAGES = ["exim4-daemon-light", "bsd-mailx", "cron"]
MAILNAME = "mail.example.test"
OTHER_DOMAIN = "other.example.test"
RELAYHOST = "[smtp.example.net]:587"
RELAY_USER = "apikey"
RELAY_PASSWORD = "s3cret-Relay-Pw"
POLICY_RC_D = """#!/bin/sh
# tests/package: invoke-rc.d may start and stop postern only (this root has no init system).
for argument in "$@"; do
  [ "$argument" = postern ] && exit 0
done
exit 101
"""
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "DEBCONF_NONINTERACTIVE_SEEN": "true"}
MAIL_WAIT_SECONDS = 60

deb = None
tarball = None
work_dir = None


# ---- helpers -----------------------------------------------------------------------------------
def fresh_root():
    """A new root whose host name is the mail name (as on a machine whose FQDN is its mail
    name), so that the default mydestination ($myhostname...) covers root@MAILNAME."""
    return DebianRoot(tarball, hostname=MAILNAME)


def preseed(root, answers):
    """debconf-set-selections in the root: answers = {question: (type, value)}."""
    lines = "".join(f"postern postern/{name} {kind} {value}\n"
                    for name, (kind, value) in answers.items())
    root.run("debconf-set-selections", input=lines)


def install_postern(root, answers):
    """The policy-rc.d, the preseeded answers, then apt install ./postern_*.deb (offline: the
    root's network namespace has only loopback). Returns apt's CompletedProcess."""
    with open(root.path("/usr/sbin/policy-rc.d"), "w") as f:
        f.write(POLICY_RC_D)
    os.chmod(root.path("/usr/sbin/policy-rc.d"), 0o755)
    preseed(root, answers)
    shutil.copy(deb, root.path("/root/"))
    return root.run(["apt-get", "install", "-y", "/root/" + os.path.basename(deb)], env=APT_ENV)


def package_state(root, package):
    result = root.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", package], check=False)
    return result.stdout.strip() if result.returncode == 0 else "not known"


def postern_processes(root):
    return root.processes("/usr/lib/postern/")


def wait_for_master(root):
    """The init script returns once master's listeners are bound; the pid file follows."""
    wait_until(lambda: root.exists("/var/spool/postern/pid/master.pid")
               and root.read("/var/spool/postern/pid/master.pid").strip() != "",
               timeout=20, what="master's pid file")
    wait_until(lambda: len(postern_processes(root)) >= 5, timeout=20,
               what="postern-master and its workers")


def main_cf(root):
    """{name: value} of /etc/postern/main.cf as Postfix reads it (continuation lines, the last
    assignment wins; no $expansion)."""
    values = {}
    name = None
    for line in root.read("/etc/postern/main.cf").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t" and name is not None:
            values[name] += " " + line.strip()
            continue
        match = re.match(r"([A-Za-z0-9_]+)\s*=\s*(.*)$", line)
        if match:
            name = match.group(1)
            values[name] = match.group(2).strip()
    return values


def listening(root):
    """(address, port) of every listening TCP socket in the root's network namespace."""
    sockets = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        text = root.run(["cat", table], check=False).stdout
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 4 or fields[3] != "0A":  # 0A: LISTEN
                continue
            address, port = fields[1].split(":")
            sockets.append((address, int(port, 16)))
    return sockets


def is_loopback(hex_address):
    if len(hex_address) == 8:  # IPv4, little-endian: 127.x.x.x ends in 7F
        return hex_address.endswith("7F")
    return hex_address == "00000000000000000000000001000000"  # ::1


def smtp_banner(root, port=25):
    """The first line the root's smtpd sends on 127.0.0.1:port (bash's /dev/tcp)."""
    result = root.run(["bash", "-c",
                       f"exec 3<>/dev/tcp/127.0.0.1/{port} && head -n 1 <&3 && "
                       "printf 'QUIT\\r\\n' >&3"], check=False, timeout=30)
    return result.stdout.strip()


def mbox_messages(root, user):
    path = f"/var/mail/{user}"
    if not root.exists(path):
        return []
    text = root.read(path)
    return [m for m in re.split(r"(?m)^From ", text) if m.strip()]


def show_log(root):
    print("--- syslog of the root (last 60 lines) ---")
    for line in root.syslog.lines[-60:]:
        print(line)


# ---- the tests -----------------------------------------------------------------------------
def test_lintian_no_errors():
    result = subprocess.run(["lintian", "--info", deb], capture_output=True, text=True,
                            timeout=600)
    print(result.stdout, end="")
    tags = [line for line in result.stdout.splitlines() if re.match(r"[EW]: ", line)]
    errors = [line for line in tags if line.startswith("E: ")]
    assert not errors, f"lintian errors: {errors}"
    print(f"lintian: {len(errors)} errors, {len(tags) - len(errors)} warnings")


def test_install_deliver_remove_purge():
    with fresh_root() as root:
        try:
            assert package_state(root, "exim4-daemon-light") == "ii", "the root has no exim4"
            apt = install_postern(root, {"main_mailer_type": ("select", "local"),
                                         "mailname": ("string", MAILNAME)})
            print(apt.stdout[-1500:])
            assert package_state(root, "exim4-daemon-light") in ("rc", "un", "not known"), \
                "apt install did not remove exim4-daemon-light"
            assert package_state(root, "postern") == "ii"
            wait_for_master(root)
            print("processes:", postern_processes(root))

            # What the package installed, with the owners and modes sendmail needs.
            for link in ("/usr/lib/sendmail", "/usr/bin/mailq", "/usr/bin/newaliases"):
                target = root.run(["readlink", "-f", link]).stdout.strip()
                assert target == "/usr/sbin/sendmail", f"{link} -> {target}"
            stat = root.run(["stat", "-c", "%U:%G %a", "/usr/lib/postern/postern-postdrop"])
            assert stat.stdout.strip() == "root:postdrop 2755", stat.stdout
            stat = root.run(["stat", "-c", "%U:%G %a", "/etc/postern/accounts.yaml"])
            assert stat.stdout.strip() == "root:root 600", stat.stdout
            assert "postmaster" in root.read("/etc/aliases")
            status = root.run(["/etc/init.d/postern", "status"], check=False)
            assert status.returncode == 0, status.stdout + status.stderr
            assert smtp_banner(root).startswith("220 "), "no SMTP greeting on 127.0.0.1:25"

            # root's mail goes to alice, through /etc/aliases and newaliases.
            root.run(["adduser", "--disabled-password", "--gecos", "Alice", "alice"])
            with open(root.path("/etc/aliases"), "a") as f:
                f.write("root: alice\n")
            root.run(["newaliases"])

            # cron's command line (cron 3.0pl1, do_command.c) with the message it writes.
            cron_message = ("From: root (Cron Daemon)\nTo: root\n"
                            f"Subject: Cron <root@{MAILNAME}> echo cron-job-output\n"
                            "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
                            "Content-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\n"
                            "X-Cron-Env: <HOME=/root>\nX-Cron-Env: <LOGNAME=root>\n\n"
                            "cron-job-output\n")
            root.run(["/usr/sbin/sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"],
                     input=cron_message)
            # bsd-mailx, as an ordinary user: through the setgid postdrop.
            root.run(["mail", "-s", "mailx to root", "root"], input="sent with mailx\n",
                     user="alice")
            # unattended-upgrades' way: sendmail -oi -t with the recipients in the header.
            root.run(["/usr/sbin/sendmail", "-oi", "-t"], user="alice",
                     input="To: root\nSubject: sendmail -t to root\n\nsent with -t\n")

            subjects = ["Cron <root@", "mailx to root", "sendmail -t to root"]

            def all_arrived():
                messages = mbox_messages(root, "alice")
                return all(any(f"Subject: {s}" in m for m in messages) for s in subjects)
            wait_until(all_arrived, timeout=MAIL_WAIT_SECONDS, what="3 messages in /var/mail/alice")
            messages = mbox_messages(root, "alice")
            assert len(messages) == 3, f"{len(messages)} messages in /var/mail/alice"
            cron_copy = next(m for m in messages if "Subject: Cron <root@" in m)
            assert "cron-job-output" in cron_copy
            assert re.search(rf"(?m)^Return-Path: <root@{re.escape(MAILNAME)}>", cron_copy), \
                "cron's mail does not come from root@$myorigin (/etc/mailname)"
            mailx_copy = next(m for m in messages if "Subject: mailx to root" in m)
            assert re.search(rf"(?m)^From: .*alice@{re.escape(MAILNAME)}", mailx_copy), mailx_copy
            stat = root.run(["stat", "-c", "%U:%G %a", "/var/mail/alice"])
            assert stat.stdout.strip() == "alice:mail 660", stat.stdout

            mailq = root.run(["mailq"])
            assert "Mail queue is empty" in mailq.stdout, mailq.stdout

            # apt remove: the service stops (prerm, invoke-rc.d), configuration and mail stay.
            root.run(["apt-get", "remove", "-y", "postern"], env=APT_ENV)
            wait_until(lambda: not postern_processes(root), timeout=30,
                       what="no Postern process after apt remove")
            assert package_state(root, "postern") == "rc"
            assert root.exists("/etc/postern/main.cf"), "apt remove took the configuration"
            assert root.exists("/var/mail/alice")

            # apt purge: everything Postern made goes, mail stays.
            root.run(["apt-get", "purge", "-y", "postern"], env=APT_ENV)
            for gone in ("/etc/postern", "/var/spool/postern", "/var/lib/postern"):
                assert not root.exists(gone), f"{gone} left after apt purge"
            for name, database in (("postern", "passwd"), ("postern", "group"),
                                   ("postdrop", "group")):
                found = root.run(["getent", database, name], check=False)
                assert found.returncode != 0, f"{database} {name} left after purge"
            overrides = root.run(["dpkg-statoverride", "--list"]).stdout
            assert "postern" not in overrides, overrides
            assert len(mbox_messages(root, "alice")) == 3, "purge touched /var/mail"
            assert root.exists("/etc/aliases")
            selections = root.run("debconf-show postern", check=False).stdout
            assert "main_mailer_type" not in selections, "debconf answers left after purge"
        except BaseException:
            show_log(root)
            raise


def check_mode(mode):
    """One root, the type preseeded: main.cf and the listeners say what the type means."""
    relayed = mode in ("smarthost", "satellite")
    answers = {"main_mailer_type": ("select", mode), "mailname": ("string", MAILNAME),
               "destinations": ("string", OTHER_DOMAIN)}
    if relayed:
        answers.update({"relayhost": ("string", RELAYHOST), "relay_user": ("string", RELAY_USER),
                        "relay_password": ("password", RELAY_PASSWORD)})
    with fresh_root() as root:
        try:
            install_postern(root, answers)
            assert root.read("/etc/mailname").strip() == MAILNAME
            check = root.run(["/usr/lib/postern/postern-master", "-t"], check=False)
            assert check.returncode == 0, f"postern-master -t: {check.stderr}"
            config = main_cf(root)
            print(f"{mode}: " + ", ".join(f"{k} = {config.get(k, '(default)')}" for k in
                  ("inet_interfaces", "relayhost", "mynetworks", "mydestination",
                   "smtp_sasl_password_maps", "myorigin")))
            assert config.get("mynetworks", "") == "", f"{mode}: mynetworks is not empty"
            assert config.get("relayhost", "") == (RELAYHOST if relayed else ""), \
                f"{mode}: relayhost = {config.get('relayhost')}"
            loopback_only = mode in ("local", "satellite")
            if loopback_only:
                assert config.get("inet_interfaces") in ("loopback-only", "127.0.0.1, [::1]",
                                                         "127.0.0.1"), config.get("inet_interfaces")
            else:
                assert config.get("inet_interfaces", "all") == "all"
            if mode != "satellite":
                assert OTHER_DOMAIN in root.read("/etc/postern/main.cf") + \
                    root.read("/etc/postern/accounts.yaml"), f"{mode}: {OTHER_DOMAIN} not configured"
            if relayed:
                # The password is in a root-only file, never in main.cf.
                assert RELAY_PASSWORD not in root.read("/etc/postern/main.cf")
                holders = root.run(["grep", "-rl", "--", RELAY_PASSWORD, "/etc/postern"],
                                   check=False).stdout.split()
                assert holders, f"{mode}: the relay password is nowhere in /etc/postern"
                for holder in holders:
                    mode_bits = root.run(["stat", "-c", "%a", holder]).stdout.strip()
                    assert mode_bits == "600", f"{holder} has mode {mode_bits}"
            wait_for_master(root)
            sockets = listening(root)
            assert any(port == 25 for _, port in sockets), f"{mode}: nothing on port 25"
            exposed = [(a, p) for a, p in sockets if not is_loopback(a)]
            if loopback_only:
                assert not exposed, f"{mode}: listening beyond loopback: {exposed}"
            else:
                assert any(p == 25 for _, p in exposed), f"{mode}: port 25 is loopback-only"
            assert smtp_banner(root).startswith("220 ")
            if mode == "local":
                # dpkg-reconfigure with a new answer: main.cf follows, Postern restarts on it.
                preseed(root, {"main_mailer_type": ("select", "internet")})
                root.run(["dpkg-reconfigure", "-f", "noninteractive", "postern"], env=APT_ENV)
                assert main_cf(root).get("inet_interfaces", "all") == "all", \
                    "dpkg-reconfigure did not apply the new type"
                wait_for_master(root)
                exposed = [(a, p) for a, p in listening(root) if not is_loopback(a)]
                assert any(p == 25 for _, p in exposed), "after reconfigure: 25 not on all"
            root.run(["apt-get", "purge", "-y", "postern"], env=APT_ENV)
            wait_until(lambda: not postern_processes(root), timeout=30, what="no Postern left")
        except BaseException:
            show_log(root)
            raise


def test_mode_internet():
    check_mode("internet")


def test_mode_smarthost():
    check_mode("smarthost")


def test_mode_satellite():
    check_mode("satellite")


def test_mode_local_and_reconfigure():
    check_mode("local")


def test_no_configuration():
    with fresh_root() as root:
        try:
            install_postern(root, {"main_mailer_type": ("select", "none")})
            assert not root.exists("/etc/postern/main.cf"), "none wrote a main.cf"
            assert not postern_processes(root), "none started Postern"
            assert package_state(root, "postern") == "ii"
        except BaseException:
            show_log(root)
            raise


# ---- set-up --------------------------------------------------------------------------------
def build_deb():
    given = os.environ.get("POSTERN_DEB")
    if given:
        return os.path.abspath(given)
    out = os.path.join(BUILD_DIR, "package")
    started = time.monotonic()
    result = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "package"), "--no-lintian",
                             "--out", out], capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        print(result.stdout, result.stderr)
        raise SystemExit("scripts/package failed")
    path = result.stdout.strip().splitlines()[-1]
    print(f"built {path} in {time.monotonic() - started:.0f} s")
    return path


def main():
    global deb, tarball, work_dir
    if os.geteuid() != 0:
        skip_test("needs root: the Debian roots are made with mmdebstrap and entered with chroot")
    for tool in ("mmdebstrap", "unshare", "nsenter", "dpkg-buildpackage", "lintian"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: run scripts/install-deps")
    started = time.monotonic()
    work_dir = tempfile.mkdtemp(prefix="postern-package-test-", dir="/tmp")
    try:
        deb = build_deb()
        kept = os.environ.get("POSTERN_KEEP_TARBALL")
        tarball = kept or os.path.join(work_dir, "root.tar")
        if not (kept and os.path.exists(kept)):
            include = BASE_PACKAGES + debian_root.deb_dependencies(deb)
            made, detail = debian_root.make_tarball(tarball, include)
            if not made:
                skip_test(detail)
            print(f"mmdebstrap: {tarball} in {detail:.0f} s")
        tests = [test_lintian_no_errors, test_install_deliver_remove_purge, test_no_configuration,
                 test_mode_internet, test_mode_smarthost, test_mode_satellite,
                 test_mode_local_and_reconfigure]
        try:
            run_tests(tests)
        finally:
            print(f"package test: {time.monotonic() - started:.0f} s in all")
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
