"""A power cut, as far as processes go: 200 messages over several SMTP sessions, every queue ID
acknowledged with 250 recorded, then kill -9 of the whole process tree right after the last 250.
Master started again on the same queue: all 200 messages reach their Maildirs. Counted by a
unique header per message; a duplicate (allowed only in the documented window, after a Maildir
rename and before qmgr records it) is printed, a missing one fails the test."""
import collections
import re
import smtplib

import postern_harness
from postern_harness import Suite, wait_until, TEST_DOMAIN

SESSIONS = 10
PER_SESSION = 20
RCPTS = [f"{u}@{TEST_DOMAIN}" for u in ("demo", "alice", "bob")]
SEQ = re.compile(rb"^X-Test-Seq: (\d+)$", re.M)


def delivered_counts(suite):
    counts = collections.Counter()
    for rcpt in RCPTS:
        for path in suite.messages(rcpt):
            with open(path, "rb") as f:
                head = f.read(4096)
            for match in SEQ.finditer(head):
                counts[int(match.group(1))] += 1
    return counts


def test_all_acknowledged_messages_survive_kill_of_everything():
    with Suite() as suite:
        acknowledged = {}  # seq -> queue ID
        for session in range(SESSIONS):
            with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=15) as client:
                client.ehlo("client.remote.test")
                for n in range(PER_SESSION):
                    seq = session * PER_SESSION + n
                    rcpt = RCPTS[seq % len(RCPTS)]
                    body = (f"From: <sender@remote.test>\r\nTo: <{rcpt}>\r\n"
                            f"Subject: power cut {seq}\r\nX-Test-Seq: {seq}\r\n\r\n"
                            f"message {seq}\r\n" + "filler line\r\n" * 40)
                    assert client.mail("sender@remote.test")[0] == 250
                    assert client.rcpt(rcpt)[0] == 250
                    code, reply = client.data(body.encode())
                    assert code == 250, (code, reply)
                    match = re.search(rb"queued as ([0-9A-Z]+)", reply)
                    assert match, reply
                    acknowledged[seq] = match.group(1).decode()
                    if seq == SESSIONS * PER_SESSION - 1:
                        suite.kill_all()  # right after the last 250, the session still open
        assert len(set(acknowledged.values())) == SESSIONS * PER_SESSION
        delivered_before = sum(delivered_counts(suite).values())

        suite.start()
        try:
            wait_until(lambda: len(delivered_counts(suite)) >= len(acknowledged), 120, 0.2,
                       "all messages delivered after the restart")
        except TimeoutError:
            counts = delivered_counts(suite)
            missing = {seq: qid for seq, qid in acknowledged.items() if seq not in counts}
            raise AssertionError(f"{len(missing)} acknowledged messages lost: {missing}\n"
                                 + suite.log()[-8000:])
        wait_until(lambda: not suite.queue_files(), 30, 0.1, "an empty queue")
        counts = delivered_counts(suite)
        duplicates = {seq: (n, acknowledged[seq]) for seq, n in counts.items() if n > 1}
        print(f"{len(acknowledged)} acknowledged, {delivered_before} delivered before the kill, "
              f"{len(duplicates)} duplicated (seq: (copies, queue ID)): {duplicates}")
        assert set(counts) == set(acknowledged), set(counts) ^ set(acknowledged)


if __name__ == "__main__":
    postern_harness.run_tests([test_all_acknowledged_messages_survive_kill_of_everything])
