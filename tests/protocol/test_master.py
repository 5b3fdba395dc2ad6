"""postern-master as a supervisor: the pid-file lock against a second master, restart of a
killed worker, a clean stop on SIGTERM, a service that crashes in a loop throttled and started
again forever (never given up) while the rest keeps serving, daemon mode, and `-t`. Runs the
real suite (tests/harness) on loopback."""
import os
import re
import signal
import smtplib
import socket
import subprocess
import tempfile
import time

import postern_harness
from postern_harness import BIN_DIR, Suite, wait_until

MASTER = os.path.join(BIN_DIR, "postern-master")


def send(suite, rcpt, subject):
    body = (f"From: sender@example.net\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\n"
            f"body of {subject}\r\n")
    with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=15) as client:
        client.ehlo("client.example.net")
        client.sendmail("sender@example.net", [rcpt], body)


def banner(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        return conn.recv(512).decode(errors="replace")


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_second_master_on_the_same_queue_exits():
    with Suite() as suite:
        second = subprocess.run(suite.master_command(), capture_output=True, text=True,
                                timeout=30)
        assert second.returncode != 0, second
        assert "master already running" in second.stderr, second.stderr
        assert f"pid {suite.process.pid}" in second.stderr, second.stderr
        # The first one is untouched: still running and serving.
        assert suite.process.poll() is None
        assert banner(suite.smtp_port).startswith("220"), "first master stopped serving"
        with open(os.path.join(suite.spool, "pid", "master.pid")) as f:
            assert int(f.read().strip()) == suite.process.pid


def test_killed_worker_is_restarted():
    with Suite() as suite:
        old = wait_until(lambda: suite.worker_pids("smtpd"), 20, what="smtpd running")
        killed = suite.kill_worker("smtpd", signal.SIGKILL)
        assert sorted(killed) == sorted(old)
        fresh = wait_until(
            lambda: [p for p in suite.worker_pids("smtpd") if p not in killed] or None,
            20, what="a new smtpd")
        assert fresh
        for pid in killed:
            wait_until(lambda: f"pid {pid} killed by signal 9" in suite.log(), 10,
                       what=f"the log line for pid {pid}")
        # The restarted worker serves on the same listener, end to end.
        send(suite, "demo@example.test", "after restart")
        suite.wait_for_mail("demo@example.test", 1)


def test_sigterm_stops_master_and_every_worker():
    with Suite() as suite:
        expected = {"postern-smtpd", "postern-qmgr", "postern-delivery"}

        def running_commands():
            commands = set()
            for pid in suite.worker_pids():
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        commands.add(os.path.basename(f.read().split(b"\0")[0].decode()))
                except OSError:
                    pass
            return commands
        # Wait for the set of programs, not for a count: submission and relay start too.
        wait_until(lambda: expected <= running_commands(), 20, what="smtpd, qmgr, delivery")
        workers = suite.worker_pids()
        suite.stop()
        assert suite.process.returncode == 0, suite.log()[-3000:]
        wait_until(lambda: not suite.worker_pids(any_parent=True), 10,
                   what="no postern-* process of this suite left")
        for pid in workers:
            assert not pid_alive(pid), f"worker {pid} survived"
        assert not os.path.exists(os.path.join(suite.spool, "pid", "master.pid"))
        for folder in ("private", "public"):
            left = os.listdir(os.path.join(suite.spool, folder))
            assert left == [], f"sockets left in {folder}/: {left}"
        refused = False
        try:
            banner(suite.smtp_port)
        except OSError:
            refused = True
        assert refused, "the smtp port still accepts after the stop"


def throttles(log, service):
    """(delay in seconds, crash number) of each 'throttling' line of service, in order."""
    return [(float(m.group(1)), int(m.group(2))) for m in re.finditer(
        rf"warning: service {service}: throttling for ([0-9.]+)s after (\d+) crash", log)]


def test_crash_loop_is_throttled_forever_and_the_rest_keeps_serving():
    """A program that exits at once, one that does not exist and one that is not executable are
    throttled with a doubling, capped delay and started again forever: well past the old give-up
    point (service_restart_limit = 3 meant 4 runs), with master alive and smtp serving. The
    harness sets service_throttle_time = 0s, so this also shows the floor: 0.1s, doubling."""
    probe = Suite(start=False)
    not_executable = os.path.join(probe.root, "not-executable")
    with open(not_executable, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(not_executable, 0o644)
    services = [
        f"127.0.0.1:{probe.smtp_port} inet n - n - - smtpd",
        "qmgr unix - - n 300 1 qmgr",
        "delivery unix - - n - 2 delivery",
        "crashy unix - - n - 1 /bin/false",      # exits at once with status 1
        "ghost unix - - n - 1 no-such-program",  # $daemon_directory/postern-no-such-program
        f"mode644 unix - - n - 1 {not_executable}",
    ]
    # The removed give-up knob is only an unknown parameter now: it must not stop anything.
    probe.write_main_cf("service_throttle_limit = 1s\nservice_restart_limit = 3\n")
    probe.write_master_cf(services)
    with probe as suite:
        started = time.monotonic()
        suite.start()
        runs = lambda: suite.log().count("process /bin/false pid")  # noqa: E731
        wait_until(lambda: runs() >= 10, 40, 0.1, "/bin/false started 10 times")
        wait_until(lambda: len(throttles(suite.log(), "ghost")) >= 8
                   and len(throttles(suite.log(), "mode644")) >= 8, 30, 0.1,
                   "8 throttles of ghost and of mode644")
        log = suite.log()
        assert "unknown parameter service_restart_limit" in log, log[-3000:]
        assert "giving up" not in log, log[-3000:]
        assert "process /bin/false pid" in log and "exit status 1" in log
        assert "cannot execute" in log and "postern-no-such-program" in log
        assert f"cannot execute {not_executable}" in log, log[-3000:]
        for service in ("crashy", "ghost", "mode644"):
            seen = throttles(log, service)
            delays = [delay for delay, _ in seen]
            # 0s is raised to the 0.1s floor, then doubles, and stops at the 1s limit.
            assert delays[:5] == [0.1, 0.2, 0.4, 0.8, 1.0], (service, delays)
            assert all(delay == 1.0 for delay in delays[4:]), (service, delays)
            assert [n for _, n in seen] == list(range(1, len(seen) + 1)), (service, seen)
        # At the cap, about one start a second: neither a busy loop nor a stop.
        before = runs()
        time.sleep(4)
        during = runs() - before
        assert 2 <= during <= 6, f"/bin/false ran {during} times in 4s at a 1s cap"
        elapsed = time.monotonic() - started
        assert runs() <= elapsed / 0.1, f"{runs()} runs in {elapsed:.1f}s: a busy loop"
        assert suite.process.poll() is None, "master exited"
        send(suite, "alice@example.test", "while crashy crashes")
        suite.wait_for_mail("alice@example.test", 1)
        print(f"/bin/false ran {runs()} times in {time.monotonic() - started:.1f}s; "
              f"crashy throttles: {[d for d, _ in throttles(suite.log(), 'crashy')]}")


def test_daemon_mode_detaches_and_stops_on_sigterm():
    with Suite(start=False) as suite:
        # Output to a file, not a pipe: run() then returns when the starting process exits,
        # not when the daemon lets go of the pipe.
        with tempfile.TemporaryFile("w+") as output:
            started = subprocess.run([MASTER, "-c", suite.etc], stdout=output, stderr=output,
                                     stdin=subprocess.DEVNULL, timeout=30)
            output.seek(0)
            assert started.returncode == 0, output.read()
        pid_path = os.path.join(suite.spool, "pid", "master.pid")

        def daemon_pid():
            try:
                with open(pid_path) as f:
                    text = f.read().strip()
                return int(text) if text else None
            except (OSError, ValueError):
                return None
        # The pid is in the file once the starting process has exited, as systemd's
        # Type=forking and start-stop-daemon expect: no waiting for it.
        pid = daemon_pid()
        assert pid and pid_alive(pid), ("master.pid holds no running pid when the starting "
                                        "process exits", pid)
        try:
            def session_leader():
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return int(fields[3]) == pid
            wait_until(session_leader, 20, what="the daemon leading its own session")
            wait_until(lambda: _accepts(suite.smtp_port), 20, what="smtp port")
            assert banner(suite.smtp_port).startswith("220")
        finally:
            os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not pid_alive(pid), 30, what="daemon master gone")
        wait_until(lambda: not suite.worker_pids(any_parent=True), 10, what="workers gone")
        assert not os.path.exists(pid_path)


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_check_mode():
    with Suite(start=False) as suite:
        good = subprocess.run([MASTER, "-c", suite.etc, "-t"], capture_output=True, text=True,
                              timeout=30)
        assert good.returncode == 0, good.stderr
        assert not _accepts(suite.smtp_port), "-t must not start anything"
        with open(os.path.join(suite.etc, "master.cf"), "a") as f:
            f.write("broken inet n - n - - smtpd\n")
        lines = open(os.path.join(suite.etc, "master.cf")).read().count("\n")
        bad = subprocess.run([MASTER, "-c", suite.etc, "-t"], capture_output=True, text=True,
                             timeout=30)
        assert bad.returncode == 1, bad
        assert f"master.cf:{lines}" in bad.stderr, bad.stderr


if __name__ == "__main__":
    postern_harness.run_tests([
        test_second_master_on_the_same_queue_exits,
        test_killed_worker_is_restarted,
        test_sigterm_stops_master_and_every_worker,
        test_crash_loop_is_throttled_forever_and_the_rest_keeps_serving,
        test_daemon_mode_detaches_and_stops_on_sigterm,
        test_check_mode,
    ])
