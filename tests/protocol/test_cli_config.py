#!/usr/bin/env python3
"""`postern config show|check|set` against a running suite and a stopped one (postern(8),
config): show's JSON parsed and checked against main.cf, show -n listing exactly what main.cf
sets, check passing and then failing (exit 5, file:line) on a broken main.cf and master.cf, set
changing one line while a comment and a continued value stay byte for byte, a running master
reloaded (its log line, and the new smtpd_banner on a new connection), an unknown name exit 3
and a bad value exit 5 with main.cf untouched."""
import json
import os
import socket
import subprocess

from postern_harness import BIN_DIR, Suite, run_tests, wait_until

POSTERN = os.path.join(BIN_DIR, "postern")
ADMIN_LINES = """# the admin's own note, kept byte for byte   
smtpd_banner = $myhostname ESMTP Postern
#
debug_peer_list = 192.0.2.1,
    192.0.2.2,
\t192.0.2.3
# after the continued value
"""


def postern(suite, *args, check_status=None):
    done = subprocess.run([POSTERN, "-c", suite.etc, "config", *args], capture_output=True,
                          text=True, timeout=60)
    if check_status is not None:
        assert done.returncode == check_status, \
            f"config {args}: exit {done.returncode}, want {check_status}:\n" \
            f"{done.stdout}{done.stderr}"
    return done


def main_cf_path(suite):
    return os.path.join(suite.etc, "main.cf")


def read_main_cf(suite):
    with open(main_cf_path(suite), "rb") as f:
        return f.read()


def names_set(text):
    """The parameter names a main.cf text sets, as Postfix reads it."""
    names = set()
    for line in text.decode().splitlines():
        if not line.strip() or line.lstrip().startswith("#") or line[0] in " \t":
            continue
        names.add(line.split("=", 1)[0].strip())
    return names


def banner(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        return s.recv(512).decode(errors="replace")


def check_show(suite):
    done = postern(suite, "show", "smtpd_banner", "queue_directory", "--json", check_status=0)
    document = json.loads(done.stdout)
    assert set(document) == {"smtpd_banner", "queue_directory"}, document
    assert document["smtpd_banner"] == {
        "value": "mx.example.test ESMTP Postern", "raw": "$myhostname ESMTP Postern",
        "type": "string", "default": "$myhostname ESMTP Postern", "set_in_main_cf": True,
    }, document["smtpd_banner"]
    assert document["queue_directory"]["value"] == suite.spool
    # A default: not in main.cf, its default's value.
    relay = json.loads(postern(suite, "show", "relay_concurrency_limit", "--json",
                               check_status=0).stdout)["relay_concurrency_limit"]
    assert relay == {"value": "50", "raw": "50", "type": "integer", "default": "50",
                     "set_in_main_cf": False}, relay
    # A continued value reads as main.cf's reader joins it.
    peers = json.loads(postern(suite, "show", "debug_peer_list", "--json",
                               check_status=0).stdout)["debug_peer_list"]
    assert peers["value"] == "192.0.2.1, 192.0.2.2, 192.0.2.3", peers

    # -n: exactly what main.cf sets.
    only_set = json.loads(postern(suite, "show", "-n", "--json", check_status=0).stdout)
    assert set(only_set) == names_set(read_main_cf(suite)), \
        set(only_set) ^ names_set(read_main_cf(suite))
    assert all(entry["set_in_main_cf"] for entry in only_set.values())
    text = postern(suite, "show", "-n", check_status=0).stdout
    assert f"queue_directory = {suite.spool}\n" in text, text
    assert "relay_concurrency_limit" not in text

    # Everything: every parameter once, in name order.
    every = postern(suite, "show", check_status=0).stdout.splitlines()
    names = [line.split(" =", 1)[0] for line in every]
    assert names == sorted(names) and len(names) == len(set(names)) and len(names) > 100
    assert "smtpd_banner = $myhostname ESMTP Postern" in every
    assert "smtpd_banner = mx.example.test ESMTP Postern" in \
        postern(suite, "show", "-x", "smtpd_banner", check_status=0).stdout

    # Unknown names: exit 3, the known ones still shown.
    unknown = postern(suite, "show", "smtpd_banner", "no_such_parameter", "--json",
                      check_status=3)
    assert "no_such_parameter: unknown parameter" in unknown.stderr, unknown.stderr
    assert set(json.loads(unknown.stdout)) == {"smtpd_banner"}
    postern(suite, "show", "-n", "relay_concurrency_limit", check_status=3)
    postern(suite, "frobnicate", check_status=2)


def check_check(suite):
    ok = postern(suite, "check", check_status=0)
    assert "is usable" in ok.stdout, ok.stdout
    original = read_main_cf(suite)
    try:
        with open(main_cf_path(suite), "ab") as f:
            f.write(b"message_size_limit = lots\n")
        line = original.count(b"\n") + 1
        bad = postern(suite, "check", check_status=5)
        assert f"main.cf:{line}: bad value for message_size_limit" in bad.stderr, bad.stderr
    finally:
        with open(main_cf_path(suite), "wb") as f:
            f.write(original)
    master_cf = os.path.join(suite.etc, "master.cf")
    with open(master_cf, "rb") as f:
        services = f.read()
    try:
        with open(master_cf, "ab") as f:
            f.write(b"broken inet n - n - - smtpd\n")
        bad = postern(suite, "check", check_status=5)
        assert "master.cf" in bad.stderr, bad.stderr
    finally:
        with open(master_cf, "wb") as f:
            f.write(services)
    postern(suite, "check", check_status=0)


def check_refusals(suite):
    before = read_main_cf(suite)
    postern(suite, "set", "no_such_parameter=1", check_status=3)
    postern(suite, "set", "smtpd_banner=fine", "no_such_parameter=1", check_status=3)
    for bad in ("message_size_limit=lots", "queue_run_delay=5x", "smtpd_recipient_limit=0",
                "smtpd_tls_security_level=sometimes", "smtpd_banner=two\nlines",
                "smtpd_banner=$", "relayhost=" + "x" * 70000):
        done = postern(suite, "set", "smtpd_banner=fine", bad, check_status=5)
        assert "not changed" in done.stderr or "value" in done.stderr, done.stderr
    postern(suite, "set", "smtpd_banner", check_status=2)
    postern(suite, "set", check_status=2)
    assert read_main_cf(suite) == before, "a refused config set changed main.cf"
    assert not [n for n in os.listdir(suite.etc) if "postern-tmp" in n]


def test_running_suite():
    with Suite(main_cf_extra=ADMIN_LINES) as suite:
        check_show(suite)
        check_check(suite)
        check_refusals(suite)

        before = read_main_cf(suite)
        assert banner(suite.smtp_port).startswith("220 mx.example.test ESMTP Postern")
        reloads = suite.log().count("reload -- configuration")
        done = postern(suite, "set", "smtpd_banner=$myhostname ESMTP changed by config set",
                       check_status=0)
        assert "reloaded" in done.stdout, done.stdout
        after = read_main_cf(suite)
        expected = before.replace(b"\nsmtpd_banner = $myhostname ESMTP Postern\n",
                                  b"\nsmtpd_banner = $myhostname ESMTP changed by config set\n")
        assert after == expected, "config set changed more than the one line"
        assert ADMIN_LINES.split("smtpd_banner")[0].encode() in after
        assert b"debug_peer_list = 192.0.2.1,\n    192.0.2.2,\n\t192.0.2.3\n" in after
        wait_until(lambda: suite.log().count("reload -- configuration") > reloads, 20,
                   what="master's reload line")
        wait_until(lambda: "changed by config set" in banner(suite.smtp_port), 20,
                   what="the new banner on a new connection")

        # The continued value replaced whole; everything else as it was.
        postern(suite, "set", "debug_peer_list=192.0.2.9", check_status=0)
        replaced = read_main_cf(suite)
        assert replaced == after.replace(
            b"debug_peer_list = 192.0.2.1,\n    192.0.2.2,\n\t192.0.2.3\n",
            b"debug_peer_list = 192.0.2.9\n"), replaced.decode()[-600:]
        # The same set again changes nothing; a new name is appended at the end.
        same = postern(suite, "set", "debug_peer_list=192.0.2.9", check_status=0)
        assert "nothing changed" in same.stdout and read_main_cf(suite) == replaced
        postern(suite, "set", "delay_warning_time=4h", check_status=0)
        assert read_main_cf(suite) == replaced + b"delay_warning_time = 4h\n"
        assert json.loads(postern(suite, "show", "delay_warning_time", "--json",
                                  check_status=0).stdout)["delay_warning_time"]["value"] == "4h"


def test_stopped_suite():
    with Suite(main_cf_extra=ADMIN_LINES, start=False) as suite:
        check_show(suite)
        check_check(suite)
        check_refusals(suite)
        mode = os.stat(main_cf_path(suite)).st_mode
        os.chmod(main_cf_path(suite), 0o640)
        done = postern(suite, "set", "smtpd_banner=$myhostname ESMTP set while stopped",
                       check_status=0)
        assert "not running" in done.stdout and "at its start" in done.stdout, done.stdout
        assert os.stat(main_cf_path(suite)).st_mode & 0o777 == 0o640, "mode not kept"
        os.chmod(main_cf_path(suite), mode & 0o777)
        suite.start()
        assert "set while stopped" in banner(suite.smtp_port)


def test_concurrent_sets_lose_nothing():
    """Eight config set runs at once, each changing another parameter: every change is there
    afterwards (they take turns on the folder's lock), and the file still reads."""
    with Suite(main_cf_extra=ADMIN_LINES, start=False) as suite:
        names = ["smtpd_timeout", "smtp_helo_timeout", "smtp_mail_timeout", "smtp_rcpt_timeout",
                 "smtp_data_init_timeout", "smtp_data_xfer_timeout", "smtp_data_done_timeout",
                 "smtp_connect_timeout"]
        runs = [subprocess.Popen([POSTERN, "-c", suite.etc, "config", "set", f"{name}={i + 11}s"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for i, name in enumerate(names)]
        for run in runs:
            out, err = run.communicate(timeout=60)
            assert run.returncode == 0, out + err
        shown = json.loads(postern(suite, "show", *names, "--json", check_status=0).stdout)
        assert {name: shown[name]["raw"] for name in names} == \
            {name: f"{i + 11}s" for i, name in enumerate(names)}, shown
        assert ADMIN_LINES.encode() in read_main_cf(suite)


if __name__ == "__main__":
    run_tests([test_running_suite, test_stopped_suite, test_concurrent_sets_lose_nothing])
