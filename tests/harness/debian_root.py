"""Throwaway Debian 12 roots for the package test (tests/package/test_package.py) and the install
benchmark (bench/install-to-first-mail): a tarball made once by mmdebstrap, unpacked afresh for
every run, and commands run in it as in a freshly installed machine without systemd.

How a root is isolated from the machine: DebianRoot starts a holder process (`sleep infinity`,
chrooted into the root) under `unshare --mount --uts --net --pid --fork --kill-child`:
  - its own mount namespace: the root's /proc is mounted there only, and goes with it;
  - its own network namespace, with only a loopback interface (brought up): whatever the package
    starts (port 25, 587, 143...) listens inside it, never on the machine, and apt cannot reach
    an archive, so `apt install ./postern_*.deb` installs from what the tarball already holds;
  - its own host name (UTS namespace), set to the name the root is made with, and written to its
    /etc/hostname and /etc/hosts;
  - its own PID namespace: every process started in the root is a descendant of the holder, and
    ends with it.
Every command runs in the holder's namespaces and root (nsenter), with a clean environment.
__exit__ stops the unshare process this object started (by PID; --kill-child then SIGKILLs the
namespace's first process, and the kernel every process left in that namespace), checks that no
process is left in the root, and removes the folder. Nothing stays mounted on the machine: the
only mount lives in the namespace.

A syslog socket (/dev/log of the root) is read by this process, so the log lines of whatever
runs in the root (postern/smtpd...) can be printed when a check fails.

The tarball: Debian 12 (bookworm), --variant=apt, from the machine's own apt sources (the file
mmdebstrap is given is /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list: no
archive is named here), with the packages a test asks for. make_tarball() returns None with the
reason when mmdebstrap cannot reach an archive (the caller skips).
"""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

kSourcesFiles = ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list")
kSuite = "bookworm"
kCommandSeconds = 300
kHolderStartSeconds = 60  # includes unpacking the tarball
kRootTmpfsSize = "4g"
kPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def sources_file():
    """The machine's apt sources file, or None."""
    for path in kSourcesFiles:
        if os.path.isfile(path) and os.path.getsize(path) > 0:
            return path
    return None


def make_tarball(path, include, variant="apt", download=()):
    """mmdebstrap a bookworm root with the packages of include into the tarball path; the
    packages of download (and what they need) are only fetched into the root's apt cache, with
    the package lists kept, so that `apt install NAME` works in the root without network.
    Returns (True, seconds) or (False, reason)."""
    sources = sources_file()
    if sources is None:
        return False, "no apt sources file (" + " or ".join(kSourcesFiles) + ")"
    if shutil.which("mmdebstrap") is None:
        return False, "mmdebstrap is not installed"
    started = time.monotonic()
    command = ["mmdebstrap", "--quiet", f"--variant={variant}",
               "--include=" + ",".join(include)]
    if download:
        command += ["--skip=cleanup/apt", "--customize-hook=chroot \"$1\" apt-get install "
                    "--download-only -y -o APT::Install-Recommends=true " + " ".join(download)]
    command += [kSuite, path, sources]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        return False, ("mmdebstrap could not make a Debian root (no reachable archive?): "
                       + (result.stderr.strip().splitlines() or ["exit %d" % result.returncode])[-1])
    return True, time.monotonic() - started


def deb_dependencies(deb):
    """The package names a .deb depends on and recommends (first alternative, no versions)."""
    names = []
    for field in ("Pre-Depends", "Depends", "Recommends"):
        result = subprocess.run(["dpkg-deb", "-f", deb, field], capture_output=True, text=True,
                                check=True)
        for clause in result.stdout.replace("\n", " ").split(","):
            first = clause.split("|")[0].strip()
            if first:
                names.append(first.split()[0].split(":")[0])
    return names


class SyslogReader:
    """Binds a datagram socket at path (a root's /dev/log) and keeps every message it receives."""

    def __init__(self, path):
        self.path = path
        self.lines = []
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if os.path.lexists(path):
            os.unlink(path)
        self._socket.bind(path)
        os.chmod(path, 0o666)
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        while not self._stop.is_set():
            try:
                data = self._socket.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.lines.append(data.decode("utf-8", "replace").rstrip("\n"))

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self._socket.close()


class DebianRoot:
    """A fresh copy of the tarball in a temporary folder under /tmp, with commands run in it in
    its own mount, network and PID namespaces (see the module comment)."""

    def __init__(self, tarball, hostname="debian.example.test", name="postern-debroot-"):
        self.tarball = tarball
        self.hostname = hostname
        self.name = name
        self.dir = None
        self.root = None
        self.syslog = None
        self._unshare = None
        self._holder_pid = None

    # ---- life ----------------------------------------------------------------------------
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix=self.name, dir="/tmp")
        self.root = os.path.join(self.dir, "root")
        os.makedirs(self.root)
        # The root lives on a tmpfs mounted inside the namespace: unpacking it there takes a
        # second or two instead of ten on disk, and it vanishes with the namespace.
        script = (f"mount -t tmpfs -o size={kRootTmpfsSize},mode=0755 postern-root '{self.root}' && "
                  f"tar -C '{self.root}' --numeric-owner -xf '{self.tarball}' && "
                  f"mount -t proc proc '{self.root}/proc' && "
                  f"mount -t devpts -o newinstance,ptmxmode=0666 devpts '{self.root}/dev/pts' && "
                  f"hostname '{self.hostname}' && ip link set lo up && "
                  f"exec chroot '{self.root}' sleep infinity")
        self._unshare = subprocess.Popen(
            ["unshare", "--mount", "--uts", "--net", "--pid", "--fork", "--kill-child",
             "--propagation", "private", "--", "sh", "-c", script],
            stdin=subprocess.DEVNULL)
        self._holder_pid = self._find_holder()
        self.syslog = SyslogReader(self.path("/dev/log"))
        # The host name, as the Debian installer writes it: /etc/hostname, and the name on
        # 127.0.1.1 in /etc/hosts so that `hostname --fqdn` finds it without DNS.
        with open(self.path("/etc/hostname"), "w") as f:
            f.write(self.hostname + "\n")
        with open(self.path("/etc/hosts"), "a") as f:
            f.write(f"127.0.1.1\t{self.hostname} {self.hostname.split('.')[0]}\n")
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def _processes_in_root(self):
        """PIDs (machine's view) of the processes whose root directory is this root."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{entry}/root") == self.root:
                    found.append(int(entry))
            except OSError:
                continue
        return found

    def _find_holder(self):
        deadline = time.monotonic() + kHolderStartSeconds
        while time.monotonic() < deadline:
            if self._unshare.poll() is not None:
                raise RuntimeError(f"unshare exited with {self._unshare.returncode}")
            for pid in self._processes_in_root():
                try:
                    with open(f"/proc/{pid}/comm") as f:
                        if f.read().strip() == "sleep":
                            return pid
                except OSError:
                    continue
            time.sleep(0.05)
        raise RuntimeError("the holder process of the Debian root did not start")

    def close(self):
        if self._unshare is not None:
            # unshare --fork ignores SIGTERM; SIGKILL ends it, and --kill-child then SIGKILLs the
            # namespace's first process, which takes every other process of the namespace along.
            if self._unshare.poll() is None:
                self._unshare.kill()
            self._unshare.wait(timeout=20)
            self._unshare = None
            deadline = time.monotonic() + 20
            while self._processes_in_root() and time.monotonic() < deadline:
                time.sleep(0.05)
            left = self._processes_in_root()
            if left:
                raise RuntimeError(f"processes left in {self.root}: {left}")
        if self.syslog is not None:
            self.syslog.close()
            self.syslog = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    # ---- use -----------------------------------------------------------------------------
    def path(self, inside):
        """The machine's path of a path inside the root (through the holder's /proc/PID/root:
        the root's tmpfs is mounted in the namespace only)."""
        return os.path.join(f"/proc/{self._holder_pid}/root", inside.lstrip("/"))

    def run(self, argv, input=None, check=True, env=None, timeout=kCommandSeconds, user=None):
        """Runs argv (a list, or a string for sh -c) in the root, as root or as user (setpriv),
        with a clean environment plus env; returns the CompletedProcess (text, output captured).
        check: raise with the output when the exit status is not 0."""
        if isinstance(argv, str):
            argv = ["sh", "-c", argv]
        environment = {"PATH": kPath, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"}
        if user is not None:
            environment.update({"HOME": f"/home/{user}", "USER": user, "LOGNAME": user})
            argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"] + argv
        environment.update(env or {})
        command = (["nsenter", "-t", str(self._holder_pid), "-m", "-u", "-n", "-p", "-r", "-w", "--",
                    "env", "-i"] + [f"{k}={v}" for k, v in environment.items()] + argv)
        result = subprocess.run(command, input=input, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"in the root: {' '.join(argv)}: exit {result.returncode}\n"
                               f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
        return result

    def processes(self, exe_prefix):
        """(pid, exe) of the processes in the root whose program lies under exe_prefix (a path
        inside the root), read from the machine's /proc."""
        found = []
        for pid in self._processes_in_root():
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                continue
            if exe.startswith(self.root + "/"):  # the tmpfs is not ours: the path comes whole
                exe = exe[len(self.root):]
            if exe.startswith(exe_prefix):
                found.append((pid, exe))
        return found

    def read(self, inside):
        with open(self.path(inside), errors="replace") as f:
            return f.read()

    def exists(self, inside):
        return os.path.lexists(self.path(inside))
