"""maillog_file: Postern logs to a file instead of syslog, and the file can be rotated.

- With maillog_file set, master (root when the test is) opens the file in a folder only it may
  write to, as /var/log is, and every worker (dropped to mail_owner) writes its lines there
  through the descriptor master gave it; only start-up lines stay on master's stderr. The file is
  created 0600 and every line has the syslog file shape.
- While a client sends a stream of messages, the file is renamed and `postern log reopen` run,
  three times. Each time the command returns only when master and every worker write to the new
  file at the path (checked in /proc), and from then on no line reaches the renamed file (its
  size does not change any more), so it could be compressed at once. At the end, across all the
  files, each message has each of its lines (client=, queued, from= size=, status=sent,
  removed) exactly once: none lost, none doubled, none torn.
- SIGUSR1 to master does the same as the command; a reload that changes maillog_file moves the
  log to the new path.
- Refusals: `postern log reopen` without maillog_file, or with no master running; a
  maillog_file outside maillog_file_prefixes (postern-master -t and at start, file not created);
  a maillog_file that is a symbolic link.
"""
import os
import re
import signal
import smtplib
import stat
import subprocess
import threading

from postern_harness import BIN_DIR, Suite, TEST_DOMAIN, run_tests, wait_until

POSTERN = os.path.join(BIN_DIR, "postern")
MASTER = os.path.join(BIN_DIR, "postern-master")
RCPT = f"demo@{TEST_DOMAIN}"
SYSLOG_SHAPE = re.compile(r"^[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d \S+ postern/[a-z]+\[\d+\]: ")
STREAM_BETWEEN = 5  # messages sent before each rotation, and after the last
ROTATIONS = 3


def cli(suite, *args):
    return subprocess.run([POSTERN, "-c", suite.etc, *args], capture_output=True, text=True,
                          timeout=60)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def maillog_suite(log_name="mail.log", extra=""):
    """A suite whose maillog_file is <root>/log/<log_name>, in a folder only root (or whoever
    runs the test) may write to."""
    suite = Suite(start=False)
    log_dir = os.path.join(suite.root, "log")
    os.makedirs(log_dir, mode=0o755, exist_ok=True)
    suite.maillog = os.path.join(log_dir, log_name)
    suite.write_main_cf(f"maillog_file_prefixes = {suite.root}\n"
                        f"maillog_file = {suite.maillog}\n{extra}")
    return suite


def send(suite, subject):
    """One message to demo in its own session; returns its queue ID."""
    with smtplib.SMTP("127.0.0.1", suite.smtp_port, local_hostname="client.test",
                      timeout=30) as client:
        client.ehlo()
        client.mail("someone@remote.test")
        code, reply = client.rcpt(RCPT)
        assert code == 250, (code, reply)
        code, reply = client.data(f"Subject: {subject}\r\n\r\n{subject}\r\n".encode())
        assert code == 250, (code, reply)
    return re.search(rb"queued as ([0-9A-Z]+)", reply).group(1).decode()


def same_file(a, b):
    try:
        sa, sb = os.stat(a), os.stat(b)
    except FileNotFoundError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def processes(suite):
    return [suite.process.pid] + suite.worker_pids()


def on_file(suite, path):
    """The PIDs of master and its workers whose stderr is not the file at path."""
    return [pid for pid in processes(suite) if not same_file(f"/proc/{pid}/fd/2", path)]


def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.MULTILINE).group(1))


def message_lines(text, queue_id):
    """The five lines each delivered message has, by kind."""
    kinds = {"client": rf"\]: {queue_id}: client=",
             "queued": rf"\]: {queue_id}: queued: from=",
             "active": rf"\]: {queue_id}: from=<[^>]*>, size=\d+, nrcpt=1",
             "sent": rf"\]: {queue_id}: to=<{re.escape(RCPT)}>, .*status=sent",
             "removed": rf"\]: {queue_id}: removed$"}
    return {kind: len(re.findall(pattern, text, re.MULTILINE)) for kind, pattern in kinds.items()}


def test_workers_log_to_the_file_and_rotation_loses_nothing():
    suite = maillog_suite()
    with suite:
        suite.start()
        wait_until(lambda: "daemon started" in read(suite.maillog), 20, 0.05,
                   "master's first line in the maillog_file")
        first = send(suite, "first")
        suite.wait_for_mail(RCPT, 1)
        wait_until(lambda: message_lines(read(suite.maillog), first)["removed"], 20, 0.05,
                   "the first message's lines in the file")
        # Workers write there, not to master's stderr (which has the start-up lines only).
        assert "postern/smtpd[" not in suite.log() and "daemon started" not in suite.log(), \
            suite.log()
        assert "postern/smtpd[" in read(suite.maillog)
        st = os.stat(suite.maillog)
        assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        assert st.st_uid == os.geteuid()
        assert not on_file(suite, suite.maillog), "a process does not log to the file"
        if os.geteuid() == 0:
            # They run as mail_owner and could not open the file (nor create one in log/).
            delivery = suite.worker_pids("delivery")
            assert delivery and all(uid_of(pid) != 0 for pid in delivery)

        queue_ids = [first]
        errors = []
        stop = threading.Event()

        def client():
            try:
                while not stop.is_set():
                    queue_ids.append(send(suite, f"stream {len(queue_ids)}"))
            except Exception as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        def sent_more(count):
            target = len(queue_ids) + count
            wait_until(lambda: len(queue_ids) >= target or errors, 60, 0.01,
                       f"{count} more messages sent")
        sender = threading.Thread(target=client)
        sender.start()
        rotated = []
        try:
            for n in range(1, ROTATIONS + 1):
                sent_more(STREAM_BETWEEN)
                old = f"{suite.maillog}.{n}"
                os.rename(suite.maillog, old)
                done = cli(suite, "log", "reopen")
                assert done.returncode == 0, done.stdout + done.stderr
                assert re.search(r"^postern: log reopen: .* reopened by postern-master \(pid "
                                 rf"{suite.process.pid}\) and its \d+ workers$", done.stdout,
                                 re.MULTILINE), done.stdout
                # The command returned: every process writes to the new file, none to the old.
                assert not on_file(suite, suite.maillog), on_file(suite, suite.maillog)
                rotated.append((old, os.path.getsize(old)))
            sent_more(STREAM_BETWEEN)
        finally:
            stop.set()
            sender.join(120)
        assert not errors, errors
        suite.wait_for_mail(RCPT, len(queue_ids), timeout=60)
        wait_until(lambda: not suite.queue_files(), 30, 0.05, "an empty queue")
        last = send(suite, "last")
        suite.wait_for_mail(RCPT, len(queue_ids) + 1)
        wait_until(lambda: message_lines(read(suite.maillog), last)["removed"], 20, 0.05,
                   "the last message's lines in the file")
        suite.stop()

        for old, size in rotated:
            assert os.path.getsize(old) == size, f"{old} grew after the reopen returned"
        files = [old for old, _ in rotated] + [suite.maillog]
        texts = [read(path) for path in files]
        for path, text in zip(files, texts):
            odd = [line for line in text.splitlines() if not SYSLOG_SHAPE.match(line)]
            assert not odd, f"{path}: lines not in the syslog file shape:\n" + "\n".join(odd[:10])
        print(f"  {len(queue_ids) + 1} messages, {ROTATIONS} rotations; lines per file: "
              f"{[len(text.splitlines()) for text in texts]}")
        everything = "".join(texts)
        for queue_id in queue_ids + [last]:
            counts = message_lines(everything, queue_id)
            assert all(count == 1 for count in counts.values()), (queue_id, counts)
        assert all(message_lines(texts[-1], last).values()), "the last message is not in " \
            "the current file"
        assert not any(last in text for text in texts[:-1])
        assert first in texts[0] and first not in "".join(texts[1:])
        for path, text in zip(files[1:], texts[1:]):
            assert "postern/master[" in text and "reopened " + suite.maillog in text, path
        # Messages arrived between all the rotations: each file has some.
        assert all(": client=" in text for text in texts), [len(text) for text in texts]


def test_sigusr1_and_reload_move_the_log():
    suite = maillog_suite("a.log")
    with suite:
        suite.start()
        wait_until(lambda: "daemon started" in read(suite.maillog), 20, 0.05, "the first line")
        os.rename(suite.maillog, suite.maillog + ".old")
        suite.process.send_signal(signal.SIGUSR1)
        wait_until(lambda: "reopened" in read(suite.maillog), 20, 0.05, "master's reopen")
        wait_until(lambda: not on_file(suite, suite.maillog), 20, 0.05,
                   "every worker on the new file")
        after_signal = send(suite, "after the signal")
        suite.wait_for_mail(RCPT, 1)
        wait_until(lambda: message_lines(read(suite.maillog), after_signal)["removed"], 20, 0.05,
                   "the message's lines in the reopened file")
        assert after_signal not in read(suite.maillog + ".old")

        moved = os.path.join(os.path.dirname(suite.maillog), "b.log")
        suite.write_main_cf(f"maillog_file_prefixes = {suite.root}\nmaillog_file = {moved}\n")
        suite.reload()
        wait_until(lambda: f"reopened {moved}" in read(moved), 20, 0.05, "the log moved on reload")
        wait_until(lambda: not on_file(suite, moved), 30, 0.05, "every process on b.log")
        after_reload = send(suite, "after the reload")
        suite.wait_for_mail(RCPT, 2)
        wait_until(lambda: message_lines(read(moved), after_reload)["removed"], 20, 0.05,
                   "the message's lines in the new file")
        assert after_reload not in read(suite.maillog)


def test_refusals():
    with Suite() as plain:
        done = cli(plain, "log", "reopen")
        assert done.returncode == 5 and "maillog_file is not set" in done.stderr, done
        assert cli(plain, "log").returncode == 2
        assert cli(plain, "log", "rotate").returncode == 2

    suite = maillog_suite()
    with suite:
        done = cli(suite, "log", "reopen")  # master not started
        assert done.returncode == 4 and "postern-master is not running" in done.stderr, done

        outside = "/etc/postern-maillog-test.log"
        suite.write_main_cf(f"maillog_file = {outside}\n")
        checked = subprocess.run([MASTER, "-c", suite.etc, "-t"], capture_output=True,
                                 text=True, timeout=60)
        assert checked.returncode != 0, checked
        assert "maillog_file_prefixes" in checked.stderr, checked.stderr
        started = subprocess.run([MASTER, "-c", suite.etc, "-f"], capture_output=True, text=True,
                                 timeout=60)
        assert started.returncode != 0 and "maillog_file_prefixes" in started.stderr, started
        assert not os.path.exists(outside)

        target = os.path.join(suite.root, "elsewhere.log")
        link = os.path.join(suite.root, "log", "link.log")
        os.symlink(target, link)
        suite.write_main_cf(f"maillog_file_prefixes = {suite.root}\nmaillog_file = {link}\n")
        started = subprocess.run([MASTER, "-c", suite.etc, "-f"], capture_output=True, text=True,
                                 timeout=60)
        assert started.returncode != 0 and "symbolic link" in started.stderr, started
        assert not os.path.exists(target)


if __name__ == "__main__":
    run_tests([test_workers_log_to_the_file_and_rotation_loses_nothing,
               test_sigusr1_and_reload_move_the_log, test_refusals])
