"""`postern queue list|show|flush` against a running suite, and qmgr's delay warnings.

- Mail for another domain while the relayhost (a loopback port) is down waits in deferred/;
  `postern queue list` shows it with its sender, its recipient and why it waits (defer/<ID>);
  `postern queue show` prints envelope and message. Then Postfix's smtp-sink starts on that
  port, `postern queue flush` makes it due at once (the retry times are set long, so only the
  flush can explain a prompt delivery), the queue empties and smtp-sink has the message.
- An empty queue prints exactly "Mail queue is empty\\n" (and nothing on stderr). A queue file
  that does not parse is listed as "unreadable", and the command still exits 0.
- transport_maps routes one domain to smtp-sink while relayhost is down, and bounces another
  with the table's error text (qmgr's routing, with the table master compiled).
- An alias with a local and an outside target: the outside copy reaches smtp-sink (relayhost),
  the local one the Maildir, each once, through the expansion queue file.
- delay_warning_time = 1s with an unreachable relayhost: the sender (a local user) gets one
  "delayed" DSN, and only one however many retries follow.
Without postern-relay built, qmgr itself defers ("relay service unavailable"); the flush part
then needs the relay and is skipped with a note.
"""
import os
import re
import subprocess
import tempfile
import shutil

from postern_harness import (BIN_DIR, Suite, default_accounts, free_port, run_tests, wait_until,
                             TEST_DOMAIN, send_tokened_message)
from relay_peers import SmtpSink

POSTERN = os.path.join(BIN_DIR, "postern")
SENDER = f"demo@{TEST_DOMAIN}"


def cli(suite, *args, timeout=30):
    return subprocess.run([POSTERN, "-c", suite.etc, *args], capture_output=True, text=True,
                          timeout=timeout)


send = send_tokened_message


def read(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


def relay_built():
    return os.access(os.path.join(BIN_DIR, "postern-relay"), os.X_OK)


def test_list_show_and_flush():
    port = free_port()
    # Long retry times: after the first deferral only a flush brings the message back soon.
    extra = (f"mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:{port}\n"
             "queue_run_delay = 300s\nminimal_backoff_time = 300s\nmaximal_backoff_time = 600s\n")
    with Suite(main_cf_extra=extra) as suite:
        rcpt = "someone@remote.example"
        token, queue_id = send(suite, SENDER, [rcpt], "waits for the relayhost")
        deferred = os.path.join(suite.spool, "deferred", queue_id)
        defer_file = os.path.join(suite.spool, "defer", queue_id)
        wait_until(lambda: os.path.exists(deferred) and os.path.exists(defer_file), 30, 0.05,
                   "the deferred file and its reason")

        done = cli(suite, "queue", "list")
        assert done.returncode == 0, done.stderr
        listing = done.stdout
        assert listing.startswith("-Queue ID-"), listing
        entry = listing[listing.index(queue_id):]
        first_line = entry.splitlines()[0]
        assert SENDER in first_line, listing
        assert re.search(r"\s\d+\s", first_line), f"no size: {first_line}"
        assert rcpt in entry, listing
        reason_line = entry.splitlines()[1]
        assert re.search(r"refused|relay service unavailable|connect", reason_line,
                         re.IGNORECASE), listing
        assert re.search(r"\(4\.\d\.\d+\)", reason_line), listing
        assert "-- 1 Kbytes in 1 Request." in listing, listing
        reason = read(defer_file)
        assert reason.startswith(rcpt + "\t4."), reason

        shown = cli(suite, "queue", "show", queue_id)
        assert shown.returncode == 0, shown.stderr
        assert f"sender: {SENDER}" in shown.stdout, shown.stdout
        assert f"recipient: {rcpt}" in shown.stdout, shown.stdout
        assert f"X-Test-Token: {token}\n" in shown.stdout, shown.stdout  # CRLF shown as LF
        missing = cli(suite, "queue", "show", "0000000000000000")
        assert missing.returncode == 3 and "no such message" in missing.stderr, missing

        if not relay_built():
            print("  (postern-relay not built: flush delivery part skipped)")
            return
        sink_dir = tempfile.mkdtemp(prefix="postern-sink-")
        os.chmod(sink_dir, 0o755)
        try:
            with SmtpSink(sink_dir, port=port) as sink:
                flushed = cli(suite, "queue", "flush")
                assert flushed.returncode == 0, flushed.stderr
                assert re.search(r"\b1 deferred message\b", flushed.stdout), flushed.stdout
                wait_until(lambda: sink.message_count() >= 1, 30, 0.05, "smtp-sink's copy")
                wait_until(lambda: not suite.queue_files(), 20, 0.05, "an empty queue")
                assert token in "".join(m.decode(errors="replace")
                                        for _, _, m in sink.transactions())
                assert sink.message_count() == 1
            assert not os.path.exists(defer_file), "defer/ID outlived its queue file"
            after = cli(suite, "queue", "list")
            assert after.returncode == 0 and after.stdout == "Mail queue is empty\n", after
            assert not suite.messages(SENDER), "no bounce or warning for a delivered message"
        finally:
            shutil.rmtree(sink_dir, ignore_errors=True)


def test_unreadable_file_and_usage():
    with Suite() as suite:
        # An empty queue: the whole output, byte for byte (not through text mode, which would
        # hide a CR), as Postfix's mailq prints it.
        empty = subprocess.run([POSTERN, "-c", suite.etc, "queue", "list"], capture_output=True,
                               timeout=30)
        expected = (0, b"Mail queue is empty\n", b"")
        assert (empty.returncode, empty.stdout, empty.stderr) == expected, empty
        hold = os.path.join(suite.spool, "hold")
        os.makedirs(hold, exist_ok=True)
        bad_id = "0000000000BADBAD"
        with open(os.path.join(hold, bad_id), "wb") as f:
            f.write(b"\x00garbage\x1b[31m not a queue file")
        done = cli(suite, "queue", "list")
        assert done.returncode == 0, done.stderr
        assert f"{bad_id}! (unreadable: " in done.stdout, done.stdout
        assert "\x1b" not in done.stdout
        assert "1 unreadable." in done.stdout, done.stdout
        shown = cli(suite, "queue", "show", bad_id)
        assert shown.returncode == 1 and "unreadable" in shown.stderr, shown
        assert cli(suite).returncode == 2
        assert cli(suite, "queue", "frobnicate").returncode == 2
        assert cli(suite, "queue", "show", "../../etc/passwd").returncode == 1
        nowhere = subprocess.run([POSTERN, "-c", "/nonexistent", "queue", "list"],
                                 capture_output=True, text=True, timeout=30)
        assert nowhere.returncode == 1 and "/nonexistent/main.cf" in nowhere.stderr, nowhere


def test_transport_maps_route_and_error():
    if not relay_built():
        print("  (postern-relay not built: skipped)")
        return
    sink_dir = tempfile.mkdtemp(prefix="postern-sink-")
    os.chmod(sink_dir, 0o755)
    try:
        with SmtpSink(sink_dir) as sink:
            suite = Suite(start=False, main_cf_extra=(
                f"mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:{free_port()}\n"
                "transport_maps = texthash:$config_directory/transport\n"))
            with suite:
                with open(os.path.join(suite.etc, "transport"), "w") as f:
                    f.write("# test table\n"
                            f".routed.example  relay:[127.0.0.1]:{sink.port}\n"
                            "blocked.example  error:5.7.1 we do not send there\n")
                suite.start()
                token, queue_id = send(suite, SENDER,
                                       ["a@mx.routed.example", "b@blocked.example"], "routed")
                wait_until(lambda: sink.message_count() >= 1, 30, 0.05, "smtp-sink's copy")
                [(_, rcpts, data)] = sink.transactions()
                assert token in data.decode(errors="replace")
                assert any("a@mx.routed.example" in r for r in rcpts), rcpts
                assert not any("blocked" in r for r in rcpts), rcpts
                [bounce] = wait_until(lambda: [p for p in suite.messages(SENDER)
                                               if token in read(p)], 30, 0.05, "the bounce")
                text = read(bounce)
                assert "Final-Recipient: rfc822; b@blocked.example" in text, text
                assert "Status: 5.7.1" in text and "we do not send there" in text, text
                assert "mx.routed.example" not in text.split("Content-Type: text/rfc822")[0]
                wait_until(lambda: not suite.queue_files(), 20, 0.05, "an empty queue")
    finally:
        shutil.rmtree(sink_dir, ignore_errors=True)


def test_alias_with_local_and_outside_targets():
    if not relay_built():
        print("  (postern-relay not built: skipped)")
        return
    sink_dir = tempfile.mkdtemp(prefix="postern-sink-")
    os.chmod(sink_dir, 0o755)
    try:
        with SmtpSink(sink_dir) as sink:
            accounts = default_accounts(
                extra_yaml="      split: [alice, friend@outside.example]\n")
            extra = f"mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:{sink.port}\n"
            with Suite(main_cf_extra=extra, accounts=accounts) as suite:
                token, queue_id = send(suite, "someone@remote.example",
                                       [f"split@{TEST_DOMAIN}"], "forwarded")
                [local] = suite.wait_for_mail(f"alice@{TEST_DOMAIN}", 1)
                assert token in read(local)
                wait_until(lambda: sink.message_count() >= 1, 30, 0.05, "smtp-sink's copy")
                [(mail_args, rcpts, data)] = sink.transactions()
                assert token in data.decode(errors="replace")
                assert "someone@remote.example" in mail_args, mail_args
                assert any("friend@outside.example" in r for r in rcpts), rcpts
                wait_until(lambda: not suite.queue_files(), 20, 0.05, "an empty queue")
                log = suite.log()
                assert re.search(rf"{queue_id}: to=<split@{TEST_DOMAIN}>, .*status=sent "
                                 r"\(forwarded to 2 addresses as [0-9A-Z]{16}\)", log), log
                assert len(suite.messages(f"alice@{TEST_DOMAIN}")) == 1
                assert sink.message_count() == 1
    finally:
        shutil.rmtree(sink_dir, ignore_errors=True)


def test_one_delay_warning():
    extra = (f"mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:{free_port()}\n"
             "delay_warning_time = 1s\n")
    with Suite(main_cf_extra=extra) as suite:
        rcpt = "later@remote.example"
        token, queue_id = send(suite, SENDER, [rcpt], "delayed")

        def warnings():
            return [p for p in suite.messages(SENDER) if token in read(p)]
        [path] = wait_until(warnings, 30, 0.05, "the delay warning")
        text = read(path)
        assert "Subject: Delayed Mail (still being retried)" in text, text[:1500]
        assert f"Final-Recipient: rfc822; {rcpt}" in text, text
        assert "Action: delayed" in text, text
        assert re.search(r"\nStatus: 4\.\d\.\d+", text), text
        assert "Diagnostic-Code: " in text
        assert f"{queue_id}: sender delay notification: " in suite.log()
        # More retries follow (back-off 1-2 s in the suite); still one warning, and the message
        # is still queued.
        deferrals = rf"{queue_id}: to=<{re.escape(rcpt)}>,.*status=deferred"
        seen = len(re.findall(deferrals, suite.log()))
        wait_until(lambda: len(re.findall(deferrals, suite.log())) >= seen + 2, 30, 0.1,
                   "two more deferrals")
        assert len(warnings()) == 1, f"{len(warnings())} delay warnings"
        assert suite.log().count(f"{queue_id}: sender delay notification: ") == 1
        assert any(queue_id in p for p in suite.queue_files()), "message left the queue"


if __name__ == "__main__":
    run_tests([test_list_show_and_flush, test_unreadable_file_and_usage,
               test_transport_maps_route_and_error, test_alias_with_local_and_outside_targets,
               test_one_delay_warning])
