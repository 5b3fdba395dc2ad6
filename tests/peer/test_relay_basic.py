"""Peer test for postern-relay with Postfix's smtp-sink as the smart host
(relayhost = [127.0.0.1]:PORT): mail a client sends to our smtpd from mynetworks for a remote
domain goes smtpd -> qmgr -> relay -> smtp-sink, arrives with its envelope and body intact, and
is logged by relay in Postfix's shape; then a run of 20 messages travels over at most
default_destination_concurrency_limit (2 here) SMTP sessions, because relay keeps idle
sessions for smtp_connection_cache_time_limit and reuses them. smtp-sink runs with -v, so every
SMTP session it served shows as one EHLO line in its log.

The wider relay tests (STARTTLS and AUTH at a real smart host, MX, faults, volume) are
test_relay_smart_host.py, test_relay_mx.py, test_relay_smtp_sink.py and
tests/fault/test_relay_faults.py. If smtp-sink is missing the test FAILS with the reason.
"""
import glob
import os
import pwd
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile

from postern_harness import Suite, free_port, run_tests, wait_until

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
SENDER = "sender@client.test"
RUN = 20


class VerboseSink:
    """smtp-sink -v on 127.0.0.1:port: one file per transaction in dump_dir, commands in log."""

    def __init__(self):
        if not os.access(SMTP_SINK, os.X_OK):
            raise AssertionError("smtp-sink is needed for this peer test (postfix package)")
        self.dir = tempfile.mkdtemp(prefix="relay-basic-")
        os.chmod(self.dir, 0o755)
        self.dump_dir = os.path.join(self.dir, "dump")
        os.makedirs(self.dump_dir)
        os.chmod(self.dump_dir, 0o777)
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "sink.log")
        args = [SMTP_SINK, "-v", "-d", os.path.join(self.dump_dir, "msg.")]
        if os.geteuid() == 0:
            pwd.getpwnam("nobody")
            args += ["-u", "nobody"]
        args += [f"127.0.0.1:{self.port}", "50"]
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        wait_until(lambda: "trying..." in self.log() or self.process.poll() is not None, 10,
                   what="smtp-sink to start")
        assert self.process.poll() is None, f"smtp-sink exited: {self.log()}"

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def sessions(self):
        return len(re.findall(r": (?:EHLO|HELO) ", self.log()))

    def dumps(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.dump_dir, "msg.*"))):
            with open(path, "rb") as f:
                out.append(f.read())
        return out

    def close(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def main_cf(sink):
    return (f"mynetworks = 127.0.0.0/8\n"
            f"relayhost = [127.0.0.1]:{sink.port}\n"
            f"default_destination_concurrency_limit = 2\n"
            f"smtp_connection_cache_time_limit = 30s\n")


def message(subject, body_lines):
    return ("From: " + SENDER + "\r\nTo: bob@remote.test\r\nSubject: " + subject + "\r\n"
            "Message-ID: <" + subject.replace(" ", "-") + "@client.test>\r\n\r\n"
            + "".join(line + "\r\n" for line in body_lines))


def test_one_message_reaches_the_smart_host():
    sink = VerboseSink()
    try:
        with Suite(main_cf_extra=main_cf(sink)) as suite:
            assert suite.has_program("relay"), "postern-relay is not built"
            body = ["first line", ".a line that starts with a dot", "..two", ".", "last line"]
            with smtplib.SMTP("127.0.0.1", suite.smtp_port, local_hostname="client.test",
                              timeout=30) as client:
                refused = client.sendmail(SENDER, ["bob@remote.test", "carol@remote.test"],
                                          message("basic one", body))
                assert not refused, refused
            wait_until(lambda: sink.dumps() and not suite.queue_files(), 60,
                       what="the message at smtp-sink and an empty queue")
            dumps = sink.dumps()
            assert len(dumps) == 1, f"{len(dumps)} transactions at smtp-sink"
            dump = dumps[0]
            assert b"X-Mail-Args: <" + SENDER.encode() + b">" in dump, dump[:400]
            assert b"X-Rcpt-Args: <bob@remote.test>" in dump
            assert b"X-Rcpt-Args: <carol@remote.test>" in dump
            # smtp-sink undoes the dot-stuffing: the lines come out as the client sent them
            for line in body:
                assert b"\n" + line.encode() + b"\n" in dump.replace(b"\r\n", b"\n"), line
            # our smtpd's Received: header travelled with the message
            assert b"by mx.example.test" in dump, dump[:600]
            for rcpt in ("bob@remote.test", "carol@remote.test"):
                pattern = (rf": to=<{re.escape(rcpt)}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                           rf"{sink.port}, delay=[0-9.]+, dsn=2\.0\.0, status=sent \(250 ")
                assert re.search(pattern, suite.log()), f"no sent line for {rcpt}:\n" + \
                    suite.log()[-3000:]
    finally:
        sink.close()


def test_a_run_of_messages_reuses_sessions():
    sink = VerboseSink()
    try:
        with Suite(main_cf_extra=main_cf(sink)) as suite:
            with smtplib.SMTP("127.0.0.1", suite.smtp_port, local_hostname="client.test",
                              timeout=30) as client:
                for n in range(RUN):
                    refused = client.sendmail(SENDER, ["bob@remote.test"],
                                              message(f"run {n}", [f"message {n}"]))
                    assert not refused, refused
            wait_until(lambda: len(sink.dumps()) >= RUN and not suite.queue_files(), 90,
                       what=f"{RUN} messages at smtp-sink")
            dumps = sink.dumps()
            assert len(dumps) == RUN, f"{len(dumps)} transactions at smtp-sink, want {RUN}"
            ids = sorted(re.search(rb"Message-ID: <run-(\d+)@", d).group(1) for d in dumps)
            assert ids == sorted(str(n).encode() for n in range(RUN)), ids
            sessions = sink.sessions()
            # at most default_destination_concurrency_limit sessions at once, each kept and
            # reused for the next message instead of one session per message
            assert 1 <= sessions <= 2, f"{sessions} SMTP sessions for {RUN} messages"
            assert len(re.findall(r"status=sent", suite.log())) == RUN
    finally:
        sink.close()


if __name__ == "__main__":
    run_tests([test_one_message_reaches_the_smart_host, test_a_run_of_messages_reuses_sessions])
