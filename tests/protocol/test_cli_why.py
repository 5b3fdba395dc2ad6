"""`postern why QUEUE_ID`: the log lines of one message, from maillog_file.

- A suite logging to maillog_file: one message delivered to a local user, one refused by
  transport_maps (error:) and so bounced to its sender. `why` of the first prints exactly the
  lines of the log about it, in order (smtpd's client=, qmgr's from=, delivery's status=sent,
  qmgr's removed); `why` of the second also follows the bounce ("sender non-delivery
  notification: NEWID") and prints NEWID's own lines. --json gives each line's time, program,
  pid and text.
- An unknown ID exits 3; a malformed one 2.
- --log reads another file: a copy with hostile lines added (a 100 kB line naming the ID,
  binary bytes, NOQUEUE rejects, a line that only mentions the ID in the middle): the long
  line comes out cut at 4096 bytes, the others are not the message's.
- The log split into mail.log.1 and mail.log (as after a rotation): the same lines, oldest
  first.
"""
import json
import os
import re
import shutil
import smtplib
import subprocess

from postern_harness import BIN_DIR, Suite, run_tests, wait_until, TEST_DOMAIN

POSTERN = os.path.join(BIN_DIR, "postern")
SENDER = f"demo@{TEST_DOMAIN}"
LINE = re.compile(r"^(\w{3} [ 123]\d \d\d:\d\d:\d\d) (\S+) ([^\[\s]+)\[(\d+)\]: (.*)$")


def why(suite, *args):
    return subprocess.run([POSTERN, "-c", suite.etc, "why", *args], capture_output=True,
                          text=True, timeout=60)


def send(suite, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", suite.smtp_port, local_hostname="client.test",
                      timeout=30) as client:
        client.ehlo()
        client.mail(SENDER)
        code, reply = client.rcpt(rcpt)
        assert code == 250, (code, reply)
        code, reply = client.data(f"Subject: {subject}\r\n\r\n{subject}\r\n".encode())
        assert code == 250, (code, reply)
    return re.search(rb"queued as ([0-9A-Z]+)", reply).group(1).decode()


def read_lines(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace").splitlines()


def lines_about(lines, queue_id):
    """The log lines whose text (after a level word) starts with 'queue_id: '."""
    found = []
    for line in lines:
        match = LINE.match(line)
        if not match:
            continue
        text = re.sub(r"^(warning|error|fatal|debug): ", "", match.group(5))
        if text.startswith(f"{queue_id}: "):
            found.append(line)
    return found


def why_suite():
    suite = Suite(start=False, main_cf_extra=(
        "mynetworks = 127.0.0.0/8\ntransport_maps = texthash:$config_directory/transport\n"))
    log_dir = os.path.join(suite.root, "log")
    os.makedirs(log_dir, mode=0o755, exist_ok=True)
    suite.maillog = os.path.join(log_dir, "mail.log")
    with open(os.path.join(suite.etc, "main.cf"), "a") as f:
        f.write(f"maillog_file_prefixes = {suite.root}\nmaillog_file = {suite.maillog}\n")
    with open(os.path.join(suite.etc, "transport"), "w") as f:
        f.write("blocked.example  error:5.7.1 we do not send there\n")
    return suite


def test_delivered_and_bounced_messages():
    with why_suite() as suite:
        suite.start()
        delivered = send(suite, f"alice@{TEST_DOMAIN}", "delivered")
        bounced = send(suite, "someone@blocked.example", "bounced")
        suite.wait_for_mail(f"alice@{TEST_DOMAIN}", 1)
        suite.wait_for_mail(SENDER, 1)  # the bounce
        notice = re.compile(rf"{bounced}: sender non-delivery notification: ([0-9A-Z]+)")
        bounce_id = wait_until(lambda: notice.search("\n".join(read_lines(suite.maillog))),
                               20, 0.05, "the bounce's line").group(1)
        for queue_id in (delivered, bounced, bounce_id):
            wait_until(lambda: f"{queue_id}: removed" in "\n".join(read_lines(suite.maillog)),
                       20, 0.05, f"{queue_id} removed")
        log = read_lines(suite.maillog)

        done = why(suite, delivered)
        assert done.returncode == 0, (done.stdout, done.stderr)
        printed = done.stdout.splitlines()
        assert printed == lines_about(log, delivered), (printed, log)
        text = "\n".join(printed)
        for expected in (f"postern/smtpd[", f"{delivered}: client=", f"postern/qmgr[",
                         f"{delivered}: from=<{SENDER}>", "postern/delivery[",
                         f"to=<alice@{TEST_DOMAIN}>", "status=sent", f"{delivered}: removed"):
            assert expected in text, (expected, text)
        assert bounced not in text

        done = why(suite, bounced)
        assert done.returncode == 0, done.stderr
        printed = done.stdout.splitlines()
        expected_lines = [line for line in log
                          if line in lines_about(log, bounced) or line in lines_about(log, bounce_id)]
        assert printed == expected_lines, (printed, expected_lines)
        text = "\n".join(printed)
        assert "status=bounced" in text and "we do not send there" in text, text
        assert f"{bounce_id}: to=<{SENDER}>" in text and f"{bounce_id}: removed" in text, text

        done = why(suite, bounced, "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["queue_id"] == bounced and report["queue_ids"] == [bounced, bounce_id]
        assert report["log_files"] == [suite.maillog] and report["truncated"] is False
        assert len(report["lines"]) == len(expected_lines)
        for entry, raw in zip(report["lines"], expected_lines):
            match = LINE.match(raw)
            assert entry["time"] == match.group(1) and entry["host"] == match.group(2)
            assert entry["program"] == match.group(3) and entry["pid"] == int(match.group(4))
            assert entry["text"] == match.group(5) and entry["queue_id"] in (bounced, bounce_id)
        programs = {entry["program"] for entry in report["lines"]}
        assert {"postern/smtpd", "postern/qmgr", "postern/delivery"} <= programs, programs

        unknown = why(suite, "0000000000NOPE00")
        assert unknown.returncode == 3 and unknown.stdout == "", unknown
        assert "no line about 0000000000NOPE00" in unknown.stderr, unknown.stderr
        bad = why(suite, "../etc/passwd")
        assert bad.returncode == 2, bad

        # --log on another file, with hostile lines in it.
        other = os.path.join(suite.root, "other.log")
        first = lines_about(log, delivered)[0]
        header = first.split(f"{delivered}: ")[0]
        with open(other, "wb") as f:
            f.write("\n".join(log).encode() + b"\n")
            f.write(f"{header}{delivered}: ".encode() + b"x" * 100000 + b"\n")
            f.write(b"\x00\xff\x1b[31m garbage " + delivered.encode() + b": \n")
            f.write(f"{header}NOQUEUE: reject: RCPT from x: 554 {delivered}: no\n".encode())
            f.write(f"{header}something about {delivered}: in the middle\n".encode())
            f.write(f"{header}{delivered}: \x1b[2J escape".encode())  # no final newline
        done = why(suite, delivered, "--log", other)
        assert done.returncode == 0, done.stderr
        printed = done.stdout.splitlines()
        assert printed[:-2] == lines_about(log, delivered), printed[:-2]
        assert printed[-2].startswith(f"{header}{delivered}: xxx"), printed[-2][:200]
        assert len(printed[-2].encode()) == 4096, len(printed[-2].encode())
        assert printed[-1] == f"{header}{delivered}: ?[2J escape", printed[-1]
        missing = why(suite, delivered, "--log", os.path.join(suite.root, "no-such.log"))
        assert missing.returncode == 1 and "no-such.log" in missing.stderr, missing

        # After a rotation: mail.log.1 holds the older part; the default reads it first.
        suite.stop()
        log = read_lines(suite.maillog)
        expected_lines = [line for line in log
                          if line in lines_about(log, bounced) or line in lines_about(log, bounce_id)]
        # Cut just after the bounced message's first line, so both files hold some of its lines
        # whatever order the daemons logged in.
        half = next(i for i, line in enumerate(log) if line in expected_lines) + 1
        assert half < len(log) and any(line in expected_lines for line in log[half:]), log
        with open(suite.maillog + ".1", "w") as f:
            f.write("\n".join(log[:half]) + "\n")
        with open(suite.maillog, "w") as f:
            f.write("\n".join(log[half:]) + "\n")
        done = why(suite, bounced, "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["log_files"] == [suite.maillog + ".1", suite.maillog], report["log_files"]
        assert [entry["file"] for entry in report["lines"]][0] == suite.maillog + ".1"
        done = why(suite, bounced)
        assert done.stdout.splitlines() == expected_lines, done.stdout

if __name__ == "__main__":
    run_tests([test_delivered_and_bounced_messages])
