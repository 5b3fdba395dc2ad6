"""A kill storm on the shipped configuration: 8 SMTP sessions send through smtpd while a random
child of the master is killed with SIGKILL every 100 ms for 40 s. The master must never give a
service up (issue 10): within 90 s of the storm's end the suite takes a new message and every
service has its workers again, and every message that got a 250 to its final dot is delivered.
Counted by a unique token per message (X-Test-Token, also in the Message-ID); duplicates
(allowed only in the documented window, after a Maildir rename and before qmgr records it) are
counted and printed, a missing acknowledged message fails the test.

Runs on etc/main.cf as shipped (Suite(shipped=True)), so the restart back-off under test is the
shipped one (service_throttle_time 2s doubling up to service_throttle_limit 60s). Only the queue's
timing knobs and the milters' default action are overridden, see QUEUE_TIMING. Bounded: at most
SESSIONS * PER_SESSION messages, a 40 s storm, 90 s to recover, DELIVERY_LIMIT to deliver;
about 1.5 minutes in all, also under ASan (the messages are paced, so a slower build sends
fewer, not later).

POSTERN_STORM_SEED=N repeats a run's choice of victims (the seed is printed)."""
import collections
import os
import random
import re
import signal
import smtplib
import threading
import time
import zlib

import postern_harness
from postern_harness import Suite, wait_until, TEST_DOMAIN

STORM_SECONDS = 40
KILL_EVERY = 0.1
SESSIONS = 8
PER_SESSION = 150      # at most 1,200 messages in all
PACE = 0.05            # seconds between one session's messages
SMTP_TIMEOUT = 10      # a session waiting on a throttled smtpd gives up and reconnects
RECOVERY_LIMIT = 90    # a new message taken, and every service back, within this of the end
DELIVERY_LIMIT = 120   # every acknowledged message delivered within this of the recovery
RCPTS = [f"{u}@{TEST_DOMAIN}" for u in ("demo", "alice", "bob")]
TOKEN = re.compile(rb"^X-Test-Token: (\S+)$", re.M)
THROTTLE = re.compile(r"service (\S+): throttling for ([0-9.]+)s after (\d+) crash")

# A delivery cut short by a kill is deferred, and etc/main.cf retries deferred mail after
# minimal_backoff_time (300s) on a queue scan every queue_run_delay (300s): far beyond this
# test's time. What is under test is that no acknowledged message is lost and that the master
# brings every service back, not the retry schedule, so the retry comes after 1-2 s instead.
# Nothing else differs from the shipped main.cf (the service throttle is the shipped one) but
# the milters' default action, below.
# The shipped milter, postern-authmilter, is killed with the rest; with the shipped
# milter_default_action (tempfail) every session while it is down or throttled gets 451 and
# hardly a message is acknowledged, which would leave the queue's promise untested. accept
# keeps mail flowing past a dead milter, so the storm still tests both: the master brings
# authmilter back, and acknowledged mail is never lost.
QUEUE_TIMING = ("queue_run_delay = 1s\nminimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n"
                "milter_default_action = accept\n")


def message(token, rcpt):
    return (f"From: <sender@remote.test>\r\nTo: <{rcpt}>\r\nSubject: storm {token}\r\n"
            f"Message-ID: <{token}@storm.remote.test>\r\nX-Test-Token: {token}\r\n\r\n"
            f"message {token}\r\n").encode()


class Senders:
    """SESSIONS threads sending paced messages until stopped; a message counts as acknowledged
    only when the reply to its final dot is 250 (smtplib's data() returns that reply)."""

    def __init__(self, suite):
        self.suite = suite
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = {}         # token -> rcpt
        self.sent = 0           # final dots sent (acknowledged or not)
        self.connections = 0
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(SESSIONS)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def join(self, timeout):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)
            assert not thread.is_alive(), "a sender did not stop"

    def send(self, client, token):
        """One transaction on an open session: True when its final dot got a 250."""
        rcpt = RCPTS[zlib.crc32(token.encode()) % len(RCPTS)]
        if client.mail("sender@remote.test")[0] != 250 or client.rcpt(rcpt)[0] != 250:
            return False
        with self.lock:
            self.sent += 1
        code, _ = client.data(message(token, rcpt))
        if code != 250:
            return False
        with self.lock:
            self.acked[token] = rcpt
        return True

    def run(self, session):
        n = 0
        while not self.stop.is_set() and n < PER_SESSION:
            try:
                with smtplib.SMTP("127.0.0.1", self.suite.smtp_port,
                                  timeout=SMTP_TIMEOUT) as client:
                    with self.lock:
                        self.connections += 1
                    client.ehlo("client.remote.test")
                    while not self.stop.is_set() and n < PER_SESSION:
                        n += 1
                        if not self.send(client, f"s{session}n{n}"):
                            break
                        self.stop.wait(PACE)
            except (smtplib.SMTPException, OSError):
                pass  # killed smtpd, or a session timed out behind a throttled one: again
            self.stop.wait(0.05)


def children(suite):
    """(pid, program name) of each live child of the master."""
    found = []
    for pid in suite.worker_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                name = os.path.basename(f.read().split(b"\0")[0].decode(errors="replace"))
        except OSError:
            continue
        found.append((pid, name))
    return found


def expected_workers(suite):
    """Program name -> maxproc summed over master.cf: what a recovered tree runs."""
    full = collections.Counter()
    with open(os.path.join(suite.etc, "master.cf")) as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            maxproc = 1 if fields[6] == "-" else int(fields[6])
            full[f"postern-{fields[7]}"] += maxproc
    return full


def storm(suite, rng):
    """SIGKILL to a random child of the master every KILL_EVERY for STORM_SECONDS."""
    kills = collections.Counter()
    empty_ticks = 0
    started = time.monotonic()
    tick = started
    while tick < started + STORM_SECONDS:
        assert suite.process.poll() is None, "master died in the storm\n" + suite.log()[-5000:]
        victims = children(suite)
        if victims:
            pid, name = rng.choice(victims)
            try:
                os.kill(pid, signal.SIGKILL)
                kills[name] += 1
            except ProcessLookupError:
                pass
        else:
            empty_ticks += 1  # every service throttled: nothing to kill this time
        tick += KILL_EVERY
        time.sleep(max(0.0, tick - time.monotonic()))
    return kills, empty_ticks


def delivered_counts(suite):
    counts = collections.Counter()
    where = {}
    for rcpt in RCPTS:
        for folder in ("new", "cur"):
            for path in suite.messages(rcpt, folder):
                with open(path, "rb") as f:
                    head = f.read(4096)
                for match in TOKEN.finditer(head):
                    token = match.group(1).decode()
                    counts[token] += 1
                    where[token] = rcpt
    return counts, where


def test_kill_storm_loses_no_acknowledged_message_and_every_service_comes_back():
    seed = int(os.environ.get("POSTERN_STORM_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    with Suite(shipped=True, main_cf_extra=QUEUE_TIMING) as suite:
        full = expected_workers(suite)
        wait_until(lambda: collections.Counter(name for _, name in children(suite)) == full,
                   30, 0.05, f"every worker of master.cf running ({dict(full)})")

        senders = Senders(suite)
        senders.start()
        kills, empty_ticks = storm(suite, rng)
        storm_end = time.monotonic()
        senders.stop.set()

        # A new message, on a new session, within RECOVERY_LIMIT of the storm's end.
        recovered = None
        attempts = 0
        while recovered is None and time.monotonic() - storm_end < RECOVERY_LIMIT:
            attempts += 1
            try:
                with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=SMTP_TIMEOUT) as client:
                    client.ehlo("client.remote.test")
                    if senders.send(client, f"probe{attempts}"):
                        recovered = time.monotonic() - storm_end
            except (smtplib.SMTPException, OSError):
                time.sleep(0.2)
        assert recovered is not None, (f"no message taken within {RECOVERY_LIMIT}s of the "
                                       "storm's end\n" + suite.log()[-8000:])
        senders.join(SMTP_TIMEOUT + 20)

        # Nothing left down: every service of master.cf has all its workers again.
        def all_back():
            return collections.Counter(name for _, name in children(suite)) == full
        wait_until(all_back, max(1.0, storm_end + RECOVERY_LIMIT - time.monotonic()), 0.2,
                   f"every service back ({dict(full)})")
        all_back_after = time.monotonic() - storm_end

        acked = dict(senders.acked)
        try:
            wait_until(lambda: set(acked) <= set(delivered_counts(suite)[0]), DELIVERY_LIMIT,
                       0.2, "every acknowledged message delivered")
        except TimeoutError:
            missing = sorted(set(acked) - set(delivered_counts(suite)[0]))
            raise AssertionError(f"{len(missing)} of {len(acked)} acknowledged messages not "
                                 f"delivered: {missing[:50]}\n" + suite.log()[-8000:])
        delivered_after = time.monotonic() - storm_end
        wait_until(lambda: not suite.queue_files(), 60, 0.2, "an empty queue")
        counts, where = delivered_counts(suite)

        log = suite.log()
        throttles = [(m.group(1), float(m.group(2)), int(m.group(3)))
                     for m in THROTTLE.finditer(log)]
        longest = max((delay for _, delay, _ in throttles), default=0.0)
        duplicates = {token: n for token, n in counts.items() if n > 1}
        unacked_delivered = sorted(set(counts) - set(acked))
        strays = [token for token in acked if where[token] != acked[token]]
        print(f"seed {seed}: {sum(kills.values())} kills in {STORM_SECONDS}s "
              f"({dict(sorted(kills.items()))}), {empty_ticks} ticks with nothing to kill; "
              f"{senders.connections} sessions, {senders.sent} final dots sent, "
              f"{len(acked)} acknowledged, {len(set(counts) & set(acked))} of them delivered, "
              f"{len(unacked_delivered)} delivered without a 250 (lost in the kill), "
              f"{len(duplicates)} duplicated {sorted(duplicates.items())}; "
              f"new message taken {recovered:.1f}s after the storm ({attempts} attempts), "
              f"every service back after {all_back_after:.1f}s, all delivered after "
              f"{delivered_after:.1f}s; {len(throttles)} throttles, longest {longest:g}s")
        assert suite.process.poll() is None, "master exited"
        # The back-off empties the tree: once every service is throttled there is nothing left
        # to kill, so the count is far below STORM_SECONDS / KILL_EVERY. Each program must have
        # been killed again after at least one restart, or the storm did not test the back-off.
        assert set(kills) == set(full), f"never killed: {set(full) - set(kills)}"
        assert all(kills[name] >= 2 * full[name] for name in full), f"too few kills: {kills}"
        assert "giving up" not in log
        assert "killed by signal 9" in log and throttles, "no crash or throttle logged"
        assert longest <= 60, f"a throttle of {longest}s: over the shipped 60s limit"
        assert not strays, f"messages in the wrong mailbox: {strays}"


if __name__ == "__main__":
    postern_harness.run_tests([
        test_kill_storm_loses_no_acknowledged_message_and_every_service_comes_back])
