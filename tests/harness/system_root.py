"""A throwaway view of the machine for tests that need what a real host has: system users,
/etc/postern, /usr/sbin/sendmail, /var/mail, crontabs. Run by the sendmail caller tests
(tests/peer/test_sendmail_callers.py) as root; nothing here changes the machine itself.

How: enter() re-executes the test script under `unshare --mount --propagation private`, so every
mount below exists only in that process tree's own mount namespace and goes away with it (no
mount event propagates back to the machine). Inside, SystemRoot mounts:
  - tmpfs on /tmp, first: the overlays' upper layers, the sandbox bin dir and the Suite's temporary
    directory all live in it, so whatever a test writes is gone when it ends, even if killed;
  - overlayfs on /etc, /usr/sbin, /usr/lib, /run, /var/spool/cron and /var/spool/anacron: the
    machine's directory is the read-only lower layer, writes (useradd, crontab, the sendmail
    symlinks, /etc/postern, deleted files as whiteouts) go to an upper layer under /tmp;
  - tmpfs on /home and /var/mail: users' home directories and mailboxes start empty.
So useradd, groupadd and crontab -u write only the upper layers; the machine's files are read,
never written. (POSTERN_KEEP_TEST_DIR cannot keep a Suite made here: its /tmp goes too.)
If we are not root, or unshare or an overlay mount fails, the test is skipped
(exit 77) with the reason.

Inside the sandbox:
  - /usr/sbin/sendmail is a small shell script that appends its caller and argv to argv_log and
    execs build/bin/sendmail under the same name (so mailq, newaliases... keep their mode);
    /usr/lib/sendmail is a symlink to it; /etc/postern is a symlink to the Suite's etc/, so a
    program that runs /usr/sbin/sendmail without -C reaches this test's suite.
  - bin_dir holds symlinks to every build/bin/postern-* program except postern-postdrop, which is
    a copy, group postdrop, mode 2755: an ordinary user's sendmail can write maildrop/ only
    through it, as on an installed system. Start the Suite with daemon_directory=bin_dir.

    from system_root import SystemRoot, enter
    enter()                              # first thing in the test script
    with SystemRoot() as root:
        root.add_user("alice", full_name="Alice Liddell")
        with Suite(main_cf_extra=root.main_cf_extra(), daemon_directory=root.bin_dir) as suite:
            root.install_sendmail(suite)
            root.run_as("alice", ["mail", "-s", "hi", "bob"], input="text\\n")
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

import postern_harness
from postern_harness import BIN_DIR, skip_test

kMarkerVariable = "POSTERN_SYSTEM_ROOT"
kOverlaid = ("/etc", "/usr/sbin", "/usr/lib", "/run", "/var/spool/cron", "/var/spool/anacron")
kEmptied = {"/home": 0o755, "/var/mail": 0o2775}
kSetgidGroup = "postdrop"
kCommandSeconds = 120


def enter():
    """Re-executes this script in a private mount namespace unless it already runs in one;
    returns only inside it. Skips the test when that is not possible."""
    if os.environ.get(kMarkerVariable) == "1":
        return
    if os.geteuid() != 0:
        skip_test("needs root: the sandboxed system root mounts overlays in its own namespace")
    unshare = shutil.which("unshare")
    if unshare is None:
        skip_test("unshare (util-linux) is not installed")
    command = [unshare, "--mount", "--propagation", "private"]
    probe = subprocess.run(command + ["true"], capture_output=True, text=True)
    if probe.returncode != 0:
        skip_test(f"cannot make a private mount namespace: {probe.stderr.strip()}")
    sys.stdout.flush()
    sys.stderr.flush()
    os.environ[kMarkerVariable] = "1"
    os.execv(unshare, command + ["--", sys.executable] + sys.argv)


def _mount(argv):
    result = subprocess.run(["mount"] + argv, capture_output=True, text=True)
    if result.returncode != 0:
        skip_test(f"mount {' '.join(argv)}: {result.stderr.strip()}")


def _run(argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True,
                          timeout=kCommandSeconds, **kwargs)


class SystemRoot:
    """The mounts of the header comment, made by __enter__ (only inside enter()'s namespace).
    The namespace's end undoes them; __exit__ has nothing of the machine's to restore."""

    def __init__(self):
        if os.environ.get(kMarkerVariable) != "1":
            raise RuntimeError("SystemRoot needs system_root.enter() first")
        self.dir = None
        self.bin_dir = None
        self.argv_log = None
        self.real_sendmail = os.path.join(BIN_DIR, "sendmail")

    def __enter__(self):
        if os.path.realpath(BIN_DIR).startswith("/tmp/"):
            skip_test(f"the build ({BIN_DIR}) is under /tmp, which the sandbox hides")
        _mount(["-t", "tmpfs", "-o", "mode=1777", "postern-tmp", "/tmp"])
        self.dir = tempfile.mkdtemp(prefix="postern-sysroot-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        for target in kOverlaid:
            if not os.path.isdir(target):
                continue  # e.g. /var/spool/anacron without anacron: never made on the machine
            layer = os.path.join(self.dir, "overlay", target.strip("/").replace("/", "-"))
            os.makedirs(f"{layer}/upper")
            os.makedirs(f"{layer}/work")
            _mount(["-t", "overlay", "overlay", "-o",
                    f"lowerdir={target},upperdir={layer}/upper,workdir={layer}/work", target])
        for target, mode in kEmptied.items():
            _mount(["-t", "tmpfs", "-o", f"mode={mode:o}", "postern-empty", target])
        shutil.chown("/var/mail", "root", "mail")
        self._ensure_group(kSetgidGroup, system=True)
        self._make_bin_dir()
        return self

    def __exit__(self, exc_type, exc, tb):
        return False

    # ---- users -----------------------------------------------------------------------------
    @staticmethod
    def _ensure_group(name, system=False):
        if subprocess.run(["getent", "group", name], capture_output=True).returncode != 0:
            _run(["groupadd"] + (["-r"] if system else []) + [name])

    @staticmethod
    def add_user(name, full_name=""):
        """A login user with a home directory in /home (tmpfs); returns its passwd entry."""
        _run(["useradd", "-m", "-s", "/bin/sh", "-c", full_name, name])
        return pwd.getpwnam(name)

    @staticmethod
    def user_env(name, extra=None):
        entry = pwd.getpwnam(name)
        env = {"HOME": entry.pw_dir, "USER": name, "LOGNAME": name, "SHELL": "/bin/sh",
               "LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
        env.update(extra or {})
        return env

    @staticmethod
    def as_user_argv(name, argv):
        """argv run as name (real and effective IDs, its groups), as a login would."""
        return ["setpriv", f"--reuid={name}", f"--regid={name}", "--init-groups", "--"] + argv

    def run_as(self, name, argv, input=None, env=None, cwd=None, timeout=kCommandSeconds):
        """Runs argv as user name with that user's plain environment (plus env) in its home
        directory; returns the CompletedProcess (text, output captured)."""
        return subprocess.run(self.as_user_argv(name, argv), input=input, capture_output=True,
                              text=True, env=self.user_env(name, env),
                              cwd=cwd or pwd.getpwnam(name).pw_dir, timeout=timeout)

    # ---- sendmail and postdrop -------------------------------------------------------------
    def _make_bin_dir(self):
        self.bin_dir = os.path.join(self.dir, "bin")
        os.makedirs(self.bin_dir)
        for name in os.listdir(BIN_DIR):
            if not name.startswith("postern"):
                continue
            path = os.path.join(self.bin_dir, name)
            if name == "postern-postdrop":
                shutil.copy(os.path.join(BIN_DIR, name), path)
                shutil.chown(path, "root", kSetgidGroup)
                os.chmod(path, 0o2755)
            else:
                os.symlink(os.path.join(BIN_DIR, name), path)

    def main_cf_extra(self):
        """main.cf lines for a Suite run in this root: $myorigin the test domain, so that bare
        names land with virtual users; the group of the setgid postdrop."""
        return (f"myorigin = {postern_harness.TEST_DOMAIN}\n"
                f"setgid_group = {kSetgidGroup}\n")

    def install_sendmail(self, suite):
        """/etc/postern -> suite.etc; /usr/sbin/sendmail the logging wrapper around ours,
        /usr/lib/sendmail -> it; /etc/mailname the test domain (as an MTA's package writes it:
        mutt, for one, qualifies bare names with it). Starts a new argv_log."""
        with open("/etc/mailname", "w") as f:
            f.write(postern_harness.TEST_DOMAIN + "\n")
        self.argv_log = os.path.join(self.dir, "sendmail-argv.log")
        with open(self.argv_log, "w"):
            pass
        os.chmod(self.argv_log, 0o666)
        if os.path.lexists("/etc/postern"):
            if os.path.islink("/etc/postern"):
                os.unlink("/etc/postern")
            else:
                shutil.rmtree("/etc/postern")  # a whiteout in the overlay, not the machine's
        os.symlink(suite.etc, "/etc/postern")
        wrapper = "/usr/sbin/sendmail"
        if os.path.lexists(wrapper):
            os.unlink(wrapper)
        with open(wrapper, "w") as f:
            f.write("#!/bin/bash\n"
                    "# system_root.py: logs the caller and argv, then runs Postern's sendmail\n"
                    f"{{ printf '%s' \"$(id -un)\"; printf '\\t%s' \"$0\" \"$@\"; printf '\\n'; }}"
                    f" >> {self.argv_log}\n"
                    f"exec -a \"$0\" {self.real_sendmail} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        if os.path.lexists("/usr/lib/sendmail"):
            os.unlink("/usr/lib/sendmail")
        os.symlink("/usr/sbin/sendmail", "/usr/lib/sendmail")

    def sendmail_calls(self):
        """What the wrapper recorded: (user, argv) per call, argv[0] as the caller named it."""
        calls = []
        with open(self.argv_log) as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                calls.append((fields[0], fields[1:]))
        return calls
