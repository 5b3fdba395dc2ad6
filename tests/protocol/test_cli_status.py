"""`postern status [--json]` against a running suite and a stopped one.

- Running: the JSON names master's pid (the pid file's), every master.cf service up, the
  number of files in each queue folder as the folders hold them (one message deferred because
  relayhost is a closed loopback port, one file put in hold/), the oldest deferred message with
  the reason qmgr wrote to defer/ID, and the Suite's certificate with the notAfter that
  `openssl x509 -enddate` reads. Exit 0.
- A worker killed with SIGKILL: its service is reported throttled, with "killed by signal 9",
  its crash count and until when; exit 1. A service whose program exits at once (/bin/false):
  throttled with "exit status 1".
- Stopped: exit 4, master not running, the queue and the certificate still reported.
- Damaged or stale state: a master.state of garbage is reported as such (exit 1, no crash) and
  replaced by master at its next change; after kill -9 of the whole suite the state file left
  behind is not believed (exit 4).
"""
import calendar
import json
import os
import re
import smtplib
import subprocess
import time

from postern_harness import BIN_DIR, Suite, free_port, run_tests, wait_until, TEST_DOMAIN

POSTERN = os.path.join(BIN_DIR, "postern")
FOLDERS = ("incoming", "active", "deferred", "hold", "maildrop", "corrupt")
HELD_ID = "0000000000HELD01"  # a queue-ID-shaped file in hold/: counted, never touched by qmgr


def status(suite, *args):
    return subprocess.run([POSTERN, "-c", suite.etc, "status", *args], capture_output=True,
                          text=True, timeout=60)


def published(suite):
    """Waits for master's first state file: the harness's wait for the ports can end before
    master has written its pid (it binds the listeners first)."""
    path = os.path.join(suite.spool, "pid", "master.state")
    wait_until(lambda: os.path.exists(path), 20, 0.02, "master.state")


def settled(suite, quiet_seconds=0.5):
    """Waits until master has stopped rewriting its state file (the workers of every service
    started): the same bytes for quiet_seconds. A test that damages the file must not have
    master overwrite it at once with a late start-up change."""
    path = os.path.join(suite.spool, "pid", "master.state")
    published(suite)
    last = {"bytes": None, "since": time.monotonic()}

    def quiet():
        with open(path, "rb") as f:
            now = f.read()
        if now != last["bytes"]:
            last["bytes"], last["since"] = now, time.monotonic()
        return time.monotonic() - last["since"] >= quiet_seconds
    wait_until(quiet, 20, 0.05, "master.state settled")


def status_json(suite):
    done = status(suite, "--json")
    assert done.returncode in (0, 1, 4), (done.returncode, done.stdout, done.stderr)
    report = json.loads(done.stdout)
    assert report["exit_status"] == done.returncode, (report, done.returncode)
    return done.returncode, report


def deferring_suite(extra="", services=None):
    """A suite whose relayhost is a closed loopback port and whose retries are far away."""
    main_cf = (f"mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:{free_port()}\n"
               "queue_run_delay = 300s\nminimal_backoff_time = 300s\n"
               "maximal_backoff_time = 600s\n" + extra)
    return Suite(main_cf_extra=main_cf, services=services)


def send_remote(suite, subject):
    with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=30) as client:
        client.ehlo("client.remote.test")
        client.mail(f"demo@{TEST_DOMAIN}")
        code, reply = client.rcpt("someone@remote.example")
        assert code == 250, (code, reply)
        code, reply = client.data(f"Subject: {subject}\r\n\r\n{subject}\r\n".encode())
        assert code == 250, (code, reply)
    return re.search(rb"queued as ([0-9A-Z]+)", reply).group(1).decode()


def folder_counts(suite):
    counts = {}
    for folder in FOLDERS:
        path = os.path.join(suite.spool, folder)
        counts[folder] = len([n for n in os.listdir(path) if not n.startswith(".")])
    return counts


def master_cf_services(suite):
    names = []
    with open(os.path.join(suite.etc, "master.cf")) as f:
        for line in f:
            if line.strip() and not line.startswith("#") and not line[0].isspace():
                names.append(line.split()[0])
    return names


def openssl_not_after(cert):
    out = subprocess.run(["openssl", "x509", "-enddate", "-noout", "-in", cert],
                         capture_output=True, text=True, check=True).stdout.strip()
    text = out.split("=", 1)[1]  # "Jan  6 17:04:50 2027 GMT"
    return calendar.timegm(time.strptime(text, "%b %d %H:%M:%S %Y %Z"))


def by_name(report):
    return {service["name"]: service for service in report["services"]}


def check_queue_and_certificate(suite, report, queue_id, reason):
    assert report["queue"] == folder_counts(suite), (report["queue"], folder_counts(suite))
    assert report["queue"]["deferred"] == 1 and report["queue"]["hold"] == 1, report["queue"]
    oldest = report["oldest_deferred"]
    assert oldest["queue_id"] == queue_id, oldest
    assert oldest["reason"] == reason, (oldest, reason)
    assert oldest["recipients"][0]["recipient"] == "someone@remote.example", oldest
    assert 0 <= oldest["age_seconds"] < 300, oldest
    certificates = {c["path"]: c for c in report["certificates"]}
    assert suite.cert in certificates, report["certificates"]
    mine = certificates[suite.cert]
    assert mine["error"] is None and "smtpd_tls_cert_file" in mine["parameters"], mine
    first = mine["certificates"][0]
    assert first["not_after_unix"] == openssl_not_after(suite.cert), (first, suite.cert)
    assert first["subject"] == "CN=mx.example.test", first
    assert first["days_left"] in (29, 30) and first["warning"] is False, first


def test_running_then_throttled_then_stopped():
    with deferring_suite("service_throttle_time = 30s\n") as suite:
        published(suite)
        queue_id = send_remote(suite, "waits for the relayhost")
        defer_file = os.path.join(suite.spool, "defer", queue_id)
        wait_until(lambda: os.path.exists(os.path.join(suite.spool, "deferred", queue_id))
                   and os.path.exists(defer_file), 30, 0.05, "the deferred message and reason")
        with open(defer_file) as f:
            reason = f.readline().rstrip("\n").split("\t")[2]
        assert "Connection refused" in reason, reason
        with open(os.path.join(suite.spool, "hold", HELD_ID), "wb") as f:
            f.write(b"not a queue file\n")

        code, report = status_json(suite)
        assert code == 0, report
        with open(os.path.join(suite.spool, "pid", "master.pid")) as f:
            assert report["master"]["pid"] == int(f.read().strip()) == suite.process.pid
        assert report["master"]["running"] is True and report["master"]["started"], report
        services = by_name(report)
        for name in master_cf_services(suite):
            assert name in services, (name, list(services))
            assert services[name]["state"] == "up", services[name]
            assert services[name]["workers"] >= 1, services[name]
        assert len(report["services"]) == len(master_cf_services(suite)), report["services"]
        check_queue_and_certificate(suite, report, queue_id, reason)

        text = status(suite)
        assert text.returncode == 0, text
        assert f"running, pid {suite.process.pid}" in text.stdout, text.stdout
        assert queue_id in text.stdout and "deferred 1" in text.stdout, text.stdout

        killed = suite.kill_worker("relay")

        def relay_throttled():
            code, report = status_json(suite)
            relay = by_name(report)["relay"]
            return (code, report, relay) if relay["state"] == "throttled" else None
        code, report, relay = wait_until(relay_throttled, 20, 0.05, "relay reported throttled")
        assert code == 1, report
        assert relay["last_exit"] == "killed by signal 9", relay
        assert relay["crashes"] == 1 and relay["workers"] == 0, relay
        until = calendar.timegm(time.strptime(relay["throttled_until"], "%Y-%m-%dT%H:%M:%SZ"))
        assert time.time() < until <= time.time() + 31, relay
        assert all(s["state"] == "up" for n, s in by_name(report).items() if n != "relay")
        assert f"pid {killed[0]} killed by signal 9" in suite.log()
        text = status(suite)
        assert text.returncode == 1 and "THROTTLED" in text.stdout, text.stdout

        suite.stop()
        assert not os.path.exists(os.path.join(suite.spool, "pid", "master.state"))
        code, report = status_json(suite)
        assert code == 4, report
        assert report["master"]["running"] is False and report["services"] == [], report
        assert "not running" in report["master"]["problem"], report
        check_queue_and_certificate(suite, report, queue_id, reason)
        text = status(suite)
        assert text.returncode == 4 and "not running" in text.stdout, text.stdout


def test_program_that_exits_at_once_is_reported_with_its_exit_status():
    probe = Suite(start=False)
    services = probe.default_services() + ["crashy unix - - n - 1 /bin/false"]
    probe.write_master_cf(services)
    probe.write_main_cf("service_throttle_time = 60s\n")
    with probe as suite:
        suite.start()
        published(suite)

        def crashy_throttled():
            code, report = status_json(suite)
            crashy = by_name(report)["crashy"]
            return (code, report, crashy) if crashy["state"] == "throttled" else None
        code, report, crashy = wait_until(crashy_throttled, 20, 0.05, "crashy throttled")
        assert code == 1, report
        assert crashy["last_exit"] == "exit status 1" and crashy["command"] == "/bin/false"
        assert crashy["crashes"] >= 1, crashy
        assert all(s["state"] == "up" for n, s in by_name(report).items() if n != "crashy")


def test_damaged_and_stale_state_files():
    with Suite() as suite:
        settled(suite)
        state_path = os.path.join(suite.spool, "pid", "master.state")
        with open(state_path, "wb") as f:
            f.write(b"postern-master-state 1\nmaster\tpid=\x00\xff" + b"A" * 100000 + b"\n")
        code, report = status_json(suite)
        assert code == 1 and report["services"] == [], report
        assert "master.state" in report["master"]["problem"], report
        # Master writes it again at its next change: a worker restarted.
        suite.kill_worker("smtpd")
        wait_until(lambda: status_json(suite)[1]["services"], 20, 0.05, "the state rewritten")
        suite.kill_all()
        assert os.path.exists(state_path)  # left behind by kill -9...
        code, report = status_json(suite)
        assert code == 4, report  # ...and not believed
        assert report["master"]["running"] is False, report


if __name__ == "__main__":
    run_tests([
        test_running_then_throttled_then_stopped,
        test_program_that_exits_at_once_is_reported_with_its_exit_status,
        test_damaged_and_stale_state_files,
    ])
