"""kill -9 of pickup, local and delivery while ten callers submit 500 messages with sendmail(1):
once master has restarted them, every message whose sendmail exited 0 is delivered at least
once, to the virtual user alice@example.test (Maildir, through delivery) or the system user
alice (/var/mail/alice, through local). Each message carries a unique token in its Subject;
the test counts the tokens where they landed, prints the duplicates (allowed: pickup's window
after committing incoming/ID and before unlinking maildrop/ID, and the delivery windows after
a write and before qmgr records it) and those without a log line, and fails only on a missing
message.

Runs as root in a sandboxed system root (tests/harness/system_root.py), where alice is a system
user; $myorigin = example.test. Kills are bounded (kMaxKills) and so is every wait. Skipped
(77) when the sandbox is impossible."""
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
import system_root  # noqa: E402
from local_mail import mbox_messages, sendmail_argv  # noqa: E402
from postern_harness import TEST_DOMAIN, Suite, wait_until  # noqa: E402

kMessages = 500
kCallers = 10
kMaxKills = 60
kKillIntervalSeconds = 0.1
kVictims = ("pickup", "local", "delivery")
kDeliverSeconds = 240
kVirtual = f"alice@{TEST_DOMAIN}"
kLocal = "alice@localhost"
kSubject = re.compile(rb"^Subject: kill (\d+) ([0-9a-f]+)\r?$", re.M)
kQueueId = re.compile(rb"^\tid (\w+);", re.M)


def recipient_of(seq):
    return kLocal if seq % 2 else kVirtual


def send_one(suite, seq, tag):
    text = (f"From: root@{TEST_DOMAIN}\nTo: {recipient_of(seq)}\nSubject: kill {seq} {tag}\n\n"
            f"message {seq}\n")
    try:
        result = subprocess.run(sendmail_argv(suite.etc, ["-i", recipient_of(seq)]),
                                input=text.encode(), capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None
    return result.returncode


def delivered(suite, tag, queue_ids=None):
    """Counter of (seq, where) for this run's messages; queue_ids, when given, receives the
    queue ID of each copy (pickup's Received: header) by (seq, where)."""
    counts = collections.Counter()
    heads = []
    for path in suite.messages(kVirtual):
        try:
            with open(path, "rb") as f:
                heads.append((kVirtual, f.read(4096)))
        except FileNotFoundError:
            continue
    heads += [(kLocal, raw[:4096]) for raw in mbox_messages(suite, "alice")]
    for where, head in heads:
        for match in kSubject.finditer(head):
            if match.group(2).decode() == tag:
                key = (int(match.group(1)), where)
                counts[key] += 1
                if queue_ids is not None:
                    found = kQueueId.search(head)
                    queue_ids[key].append(found.group(1).decode() if found else "?")
    return counts


def killer(suite, stop, kills):
    """kill -9 of one victim at a time, in turn, until stop or kMaxKills."""
    turn = 0
    while not stop.is_set() and len(kills) < kMaxKills:
        victim = kVictims[turn % len(kVictims)]
        turn += 1
        for pid in suite.worker_pids(victim):
            try:
                os.kill(pid, signal.SIGKILL)
                kills.append((victim, pid))
            except ProcessLookupError:
                pass
        stop.wait(kKillIntervalSeconds)


def test_every_submitted_message_survives_kills():
    tag = os.urandom(6).hex()
    extra = (system_root.SystemRoot.main_cf_extra(ROOT) + "service_throttle_limit = 1s\n")
    with Suite(main_cf_extra=extra, daemon_directory=ROOT.bin_dir) as suite:
        wait_until(lambda: all(suite.worker_pids(v) for v in ("pickup", "qmgr")), 20,
                   what="pickup and qmgr running")
        exit_codes = {}
        lock = threading.Lock()
        next_seq = iter(range(kMessages))

        def caller():
            while True:
                with lock:
                    seq = next(next_seq, None)
                if seq is None:
                    return
                code = send_one(suite, seq, tag)
                with lock:
                    exit_codes[seq] = code

        stop = threading.Event()
        kills = []
        kill_thread = threading.Thread(target=killer, args=(suite, stop, kills))
        callers = [threading.Thread(target=caller) for _ in range(kCallers)]
        started = time.monotonic()
        kill_thread.start()
        for thread in callers:
            thread.start()
        for thread in callers:
            thread.join(600)
        sent_seconds = time.monotonic() - started
        accepted = sorted(seq for seq, code in exit_codes.items() if code == 0)
        refused = {seq: code for seq, code in exit_codes.items() if code != 0}
        print(f"{len(accepted)} of {kMessages} sendmail calls exited 0 in {sent_seconds:.1f}s; "
              f"others: {refused}")
        assert len(exit_codes) == kMessages, "a caller thread did not finish"

        def all_there():
            counts = delivered(suite, tag)
            return all(counts[(seq, recipient_of(seq))] >= 1 for seq in accepted)
        try:
            wait_until(all_there, kDeliverSeconds, 0.5, "every accepted message delivered")
        except TimeoutError:
            stop.set()
            counts = delivered(suite, tag)
            missing = [seq for seq in accepted if counts[(seq, recipient_of(seq))] == 0]
            raise AssertionError(
                f"{len(missing)} accepted messages missing: {missing[:50]}; queue: "
                f"{suite.queue_files()[:20]}; maildrop: "
                f"{os.listdir(os.path.join(suite.spool, 'maildrop'))[:20]}\n"
                + suite.log()[-8000:])
        stop.set()  # the killer also ran while the queue drained, up to kMaxKills
        kill_thread.join(30)
        killed = collections.Counter(victim for victim, _ in kills)
        print(f"kills: {dict(killed)} in {time.monotonic() - started:.1f}s")
        assert kills, "nothing was killed: the test did not test anything"
        wait_until(lambda: not suite.queue_files(), 60, 0.2, "an empty queue")
        queue_ids = collections.defaultdict(list)
        counts = delivered(suite, tag, queue_ids)
        duplicates = {key: n for key, n in counts.items() if n > 1}
        strays = [key for key in counts if key[1] != recipient_of(key[0])]
        log = suite.log().splitlines()
        untraced = 0
        for key in sorted(duplicates):
            ids = sorted(set(queue_ids[key]))
            tried = [line for line in log if "relay=" in line and any(i in line for i in ids)]
            sends = sum(1 for line in tried if "status=sent" in line)
            deferrals = sum(1 for line in tried if "status=deferred" in line)
            untraced += max(0, duplicates[key] - sends - deferrals)
            print(f"duplicate {key}: {duplicates[key]} copies, queue IDs {ids}, {sends} logged "
                  f"as sent, {deferrals} as deferred")
        # A copy beyond the sent and deferred lines of its queue ID left no trace in the log:
        # qmgr's ServiceClient (qmgr/delivery_client.cpp) resent the request on a fresh
        # connection, silently, after the killed agent had delivered it without replying.
        print(f"{untraced} delivered copies with no log line at all")
        print(f"{len(accepted)} accepted, {sum(counts.values())} delivered copies, "
              f"{len(duplicates)} duplicated: {sorted(duplicates.items())}")
        corrupt = suite.queue_files("corrupt")
        print(f"corrupt/: {corrupt}")
        assert not strays, f"messages in the wrong mailbox: {strays}"


ROOT = None


def main():
    global ROOT
    system_root.enter()
    if shutil.which("useradd") is None:
        postern_harness.skip_test("useradd is needed")
    with system_root.SystemRoot() as root:
        ROOT = root
        root.add_user("alice", full_name="Alice Liddell")
        postern_harness.run_tests([test_every_submitted_message_survives_kills])


if __name__ == "__main__":
    main()
