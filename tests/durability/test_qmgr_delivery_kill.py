"""kill -9 of qmgr and delivery right after smtpd's 250, message after message: once master has
restarted them, every acknowledged message is in its Maildir. Counted exactly by a unique header
per message; a duplicate (possible only in the documented window: after the Maildir rename,
before qmgr records the result) is printed, a missing message fails the test."""
import collections
import re
import signal
import smtplib

import postern_harness
from postern_harness import Suite, wait_until, TEST_DOMAIN

MESSAGES = 30
RCPTS = [f"{u}@{TEST_DOMAIN}" for u in ("demo", "alice", "bob")]
SEQ = re.compile(rb"^X-Test-Seq: (\d+)$", re.M)


def send_one(suite, seq):
    rcpt = RCPTS[seq % len(RCPTS)]
    body = (f"From: <sender@remote.test>\r\nTo: <{rcpt}>\r\nSubject: kill test {seq}\r\n"
            f"X-Test-Seq: {seq}\r\n\r\nmessage {seq}\r\n")
    with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=15) as client:
        client.ehlo("client.remote.test")
        assert client.mail("sender@remote.test")[0] == 250
        assert client.rcpt(rcpt)[0] == 250
        code, reply = client.data(body.encode())
        assert code == 250, (code, reply)
    return rcpt


def kill_if_running(suite, command):
    """kill -9 of every running postern-<command> (none may run while master restarts it)."""
    killed = []
    for pid in suite.worker_pids(command):
        try:
            postern_harness.os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            pass
    return killed


def delivered_counts(suite):
    counts = collections.Counter()
    for rcpt in RCPTS:
        for path in suite.messages(rcpt):
            with open(path, "rb") as f:
                head = f.read(4096)
            for match in SEQ.finditer(head):
                counts[(int(match.group(1)), rcpt)] += 1
    return counts


def test_every_message_survives_kills_of_qmgr_and_delivery():
    # qmgr and delivery are killed after every message: the restart back-off is capped at 1s
    # so that they come back quickly; this test is about the queue, not the throttle.
    extra = "service_throttle_limit = 1s\n"
    with Suite(main_cf_extra=extra) as suite:
        wait_until(lambda: suite.worker_pids("qmgr") and suite.worker_pids("delivery"), 20,
                   what="qmgr and delivery running")
        expected = {}
        kills = 0
        for seq in range(MESSAGES):
            expected[seq] = send_one(suite, seq)
            kills += len(kill_if_running(suite, "qmgr")) + len(kill_if_running(suite, "delivery"))
        assert kills > 0, "nothing was killed: the test did not test anything"

        def all_there():
            counts = delivered_counts(suite)
            return all(counts[(seq, rcpt)] >= 1 for seq, rcpt in expected.items())
        try:
            wait_until(all_there, 90, 0.1, "every message delivered")
        except TimeoutError:
            counts = delivered_counts(suite)
            missing = [seq for seq, rcpt in expected.items() if counts[(seq, rcpt)] == 0]
            raise AssertionError(f"missing messages {missing}\n" + suite.log()[-8000:])
        wait_until(lambda: not suite.queue_files(), 30, 0.1, "an empty queue")
        counts = delivered_counts(suite)
        duplicates = {key: n for key, n in counts.items() if n > 1}
        strays = [key for key in counts if key[0] not in expected or expected[key[0]] != key[1]]
        print(f"{MESSAGES} messages, {kills} kills, {len(duplicates)} duplicated: "
              f"{sorted(duplicates.items())}")
        assert not strays, f"messages in the wrong mailbox: {strays}"


if __name__ == "__main__":
    postern_harness.run_tests([test_every_message_survives_kills_of_qmgr_and_delivery])
