"""`postern queue list --json|show --json|flush --domain|delete|hold|release|requeue` against a
running suite whose relayhost (a loopback port) is down, so that mail waits in deferred/, and
against the same queue with the suite stopped.

- list --json and show --json are parsed with json.loads and checked against the queue files and
  defer/<ID> (IDs, folders, senders, recipients, deferral reasons).
- flush --domain: smtp-sink comes up on the relayhost's port; only the message for that domain
  goes out, the other one stays in deferred/ (retry times are long: only a flush explains a
  prompt delivery). A held message is not delivered by a flush, and is after `queue release`.
- requeue: transport_maps changed and reloaded; the requeued message takes the new route at
  once (without requeue it would wait for its retry time).
- delete by ID, --from, --to, --all: `ID: removed` in the log, the files gone (defer/ too), and
  nothing delivered when the relayhost comes back and the queue is flushed. An unknown ID exits 3
  while the known ones are still removed; an ordinary user gets 6.
- With the suite stopped: hold, delete, requeue, release act on the files (and say qmgr was not
  running); after the start, with smtp-sink up, qmgr delivers what is in incoming/, leaves hold/
  alone, and the deleted message never arrives.
- A message whose delivery attempt is in flight (smtp-sink waits before answering DATA): delete
  is answered at once, and once the attempt returns the file is gone and nothing is retried.
  A hold of such a message survives a kill -9 of qmgr: the next qmgr holds it before any
  delivery.
"""
import contextlib
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile

from postern_harness import (BIN_DIR, Suite, free_port, run_tests, skip_test, wait_until,
                             TEST_DOMAIN, send_tokened_message)
from relay_peers import SmtpSink

POSTERN = os.path.join(BIN_DIR, "postern")
SENDER = f"demo@{TEST_DOMAIN}"
SLOW_RETRIES = ("queue_run_delay = 300s\nminimal_backoff_time = 300s\n"
                "maximal_backoff_time = 600s\n")


def cli(suite, *args, timeout=90, user=None):
    command = [POSTERN, "-c", suite.etc, *args]
    if user:
        entry = pwd.getpwnam(user)
        command = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                   "--clear-groups"] + command
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def ok(done):
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done


def send(suite, sender, recipients, subject="queue test"):
    return send_tokened_message(suite, sender, recipients, subject)


def path_in(suite, folder, queue_id):
    return os.path.join(suite.spool, folder, queue_id)


def folder_of(suite, queue_id):
    found = [f for f in ("incoming", "active", "deferred", "hold")
             if os.path.exists(path_in(suite, f, queue_id))]
    assert len(found) <= 1, found
    return found[0] if found else None


def wait_deferred(suite, *queue_ids):
    wait_until(lambda: all(os.path.exists(path_in(suite, "deferred", q)) and
                           os.path.exists(path_in(suite, "defer", q)) for q in queue_ids),
               30, 0.05, "deferred files and their reasons")


def defer_lines(suite, queue_id):
    with open(path_in(suite, "defer", queue_id)) as f:
        return {line.split("\t")[0]: line.rstrip("\n").split("\t")[1:]
                for line in f if line.count("\t") >= 2}


def sink_tokens(sink):
    return "".join(m.decode(errors="replace") for _, _, m in sink.transactions())


def relay_built():
    return os.access(os.path.join(BIN_DIR, "postern-relay"), os.X_OK)


def sink_dir():
    directory = tempfile.mkdtemp(prefix="postern-sink-")
    os.chmod(directory, 0o755)
    return directory


def test_list_show_flush_hold_release():
    port = free_port()
    extra = f"mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:{port}\n" + SLOW_RETRIES
    with Suite(main_cf_extra=extra) as suite:
        token_a, id_a = send(suite, SENDER, ["a@alpha.example"])
        token_b, id_b = send(suite, "Someone@Remote.example", ["b@beta.example", "c@beta.example"])
        token_h, id_h = send(suite, SENDER, ["h@held.example"])
        wait_deferred(suite, id_a, id_b, id_h)

        document = json.loads(ok(cli(suite, "queue", "list", "--json")).stdout)
        by_id = {m["queue_id"]: m for m in document["messages"]}
        assert set(by_id) == {id_a, id_b, id_h}, by_id.keys()
        assert document["totals"]["messages"] == 3, document["totals"]
        assert document["totals"]["by_folder"]["deferred"] == 3, document["totals"]
        b = by_id[id_b]
        assert b["folder"] == "deferred" and b["readable"] is True, b
        assert b["sender"].lower() == "someone@remote.example", b  # smtpd lower-cases domains
        assert b["size"] > 0 and b["attempts"] >= 1, b
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b["arrival_time_iso"]), b
        assert isinstance(b["arrival_time"], int) and b["next_attempt"] > b["arrival_time"], b
        reasons = defer_lines(suite, id_b)
        assert [r["address"] for r in b["recipients"]] == ["b@beta.example", "c@beta.example"]
        for rcpt in b["recipients"]:
            dsn, reason = reasons[rcpt["address"]]
            assert rcpt["status"] == "pending", rcpt
            assert rcpt["deferral"] == {"dsn": dsn, "reason": reason}, (rcpt, reasons)
            assert dsn.startswith("4."), dsn

        shown = json.loads(ok(cli(suite, "queue", "show", id_a, "--json")).stdout)
        assert shown["queue_id"] == id_a and shown["folder"] == "deferred", shown
        assert shown["sender"] == SENDER, shown
        assert [r["address"] for r in shown["recipients"]] == ["a@alpha.example"], shown
        assert f"X-Test-Token: {token_a}\n" in shown["message"], shown["message"]
        assert "\r" not in shown["message"]
        assert cli(suite, "queue", "show", "0000000000000000", "--json").returncode == 3

        held = ok(cli(suite, "queue", "hold", id_h))
        assert f"{id_h}: placed on hold" in held.stdout, held.stdout
        assert folder_of(suite, id_h) == "hold"
        assert f"{id_h}: placed on hold" in suite.log()
        listed = json.loads(ok(cli(suite, "queue", "list", "--json")).stdout)
        assert {m["queue_id"]: m["folder"] for m in listed["messages"]}[id_h] == "hold"

        if not relay_built():
            print("  (postern-relay not built: the delivery part is skipped)")
            return
        directory = sink_dir()
        try:
            with SmtpSink(directory, port=port) as sink:
                flushed = ok(cli(suite, "queue", "flush", "--domain", "ALPHA.example"))
                assert re.search(r"\b1 deferred message for ALPHA.example\b", flushed.stdout), \
                    flushed.stdout
                wait_until(lambda: token_a in sink_tokens(sink), 30, 0.05, "alpha's message")
                wait_until(lambda: folder_of(suite, id_a) is None, 20, 0.05, "alpha's file gone")
                assert folder_of(suite, id_b) == "deferred", "beta's message was flushed too"
                assert sink.message_count() == 1

                # A plain flush: beta goes out; the held message does not.
                flushed = ok(cli(suite, "queue", "flush"))
                assert re.search(r"\b1 deferred message\b", flushed.stdout), flushed.stdout
                wait_until(lambda: token_b in sink_tokens(sink), 30, 0.05, "beta's message")
                wait_until(lambda: folder_of(suite, id_b) is None, 20, 0.05, "beta's file gone")
                # New mail goes out at once; once it has, the flush is long done.
                token_n, _ = send(suite, SENDER, ["n@alpha.example"])
                wait_until(lambda: token_n in sink_tokens(sink), 30, 0.05, "the new message")
                assert token_h not in sink_tokens(sink), "the held message was delivered"
                assert folder_of(suite, id_h) == "hold"

                released = ok(cli(suite, "queue", "release", id_h))
                assert f"{id_h}: released from hold" in released.stdout, released.stdout
                wait_until(lambda: token_h in sink_tokens(sink), 30, 0.05, "the released one")
                wait_until(lambda: not suite.queue_files(), 20, 0.05, "an empty queue")
                assert sink.message_count() == 4
                assert f"{id_h}: released from hold" in suite.log()
                # Not on hold (any more): 3.
                again = cli(suite, "queue", "release", id_h)
                assert again.returncode == 3, again
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def test_requeue_takes_the_new_route():
    if not relay_built():
        skip_test("postern-relay not built")
    directory = sink_dir()
    try:
        with SmtpSink(directory) as sink:
            suite = Suite(start=False, main_cf_extra=(
                f"mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:{free_port()}\n"
                "transport_maps = texthash:$config_directory/transport\n" + SLOW_RETRIES))
            with suite:
                transport = os.path.join(suite.etc, "transport")
                with open(transport, "w") as f:
                    f.write("# nothing routed yet\n")
                suite.start()
                token, queue_id = send(suite, SENDER, ["r@routed.example"])
                wait_deferred(suite, queue_id)
                with open(transport, "w") as f:
                    f.write(f"routed.example  relay:[127.0.0.1]:{sink.port}\n")
                before = suite.worker_pids("qmgr")
                suite.reload()
                wait_until(lambda: suite.worker_pids("qmgr") and
                           set(suite.worker_pids("qmgr")).isdisjoint(before), 30, 0.05,
                           "qmgr of the new generation")
                assert folder_of(suite, queue_id) == "deferred"
                done = ok(cli(suite, "queue", "requeue", queue_id))
                assert f"{queue_id}: requeued" in done.stdout, done.stdout
                wait_until(lambda: token in sink_tokens(sink), 30, 0.05, "the requeued message")
                wait_until(lambda: not suite.queue_files(), 20, 0.05, "an empty queue")
                assert f"{queue_id}: requeued" in suite.log()
                assert not os.path.exists(path_in(suite, "defer", queue_id))
                # requeue --all of an empty queue: nothing to do, exit 0.
                empty = ok(cli(suite, "queue", "requeue", "--all"))
                assert "0 messages requeued" in empty.stdout, empty.stdout
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_delete_running():
    port = free_port()
    extra = f"mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:{port}\n" + SLOW_RETRIES
    with Suite(main_cf_extra=extra) as suite:
        by_id_token = {}
        _, id_1 = send(suite, SENDER, ["one@delta.example"])
        _, id_from = send(suite, "Bulk-Sender@Sender.EXAMPLE", ["x@delta.example"])
        _, id_to = send(suite, SENDER, ["other@delta.example", "Target@Delta.Example"])
        _, id_rest1 = send(suite, SENDER, ["r1@delta.example"])
        _, id_rest2 = send(suite, SENDER, ["r2@delta.example"])
        ids = [id_1, id_from, id_to, id_rest1, id_rest2]
        wait_deferred(suite, *ids)
        ok(cli(suite, "queue", "hold", id_rest2))  # --all takes hold/ too
        for queue_id in ids:
            with open(path_in(suite, folder_of(suite, queue_id), queue_id), "rb") as f:
                by_id_token[queue_id] = re.search(rb"body ([0-9a-f]{32})", f.read()).group(1)

        if os.geteuid() == 0:
            denied = cli(suite, "queue", "delete", id_1, user="nobody")
            assert denied.returncode == 6 and "only root or" in denied.stderr, denied
            assert cli(suite, "queue", "hold", id_1, user="nobody").returncode == 6
            assert cli(suite, "queue", "flush", user="nobody").returncode == 6
            assert folder_of(suite, id_1) == "deferred"
        assert cli(suite, "queue", "delete").returncode == 2
        assert cli(suite, "queue", "delete", "../../etc/passwd").returncode == 2
        assert cli(suite, "queue", "delete", "--all", id_1).returncode == 2
        assert cli(suite, "queue", "hold", "--all").returncode == 2

        # By ID, with an unknown ID beside it: 3, and the known one is still removed.
        done = cli(suite, "queue", "delete", id_1, "0000000000000000")
        assert done.returncode == 3, done
        assert f"{id_1}: removed" in done.stdout and "1 message removed" in done.stdout, done
        assert "0000000000000000: not in the queue" in done.stderr, done.stderr
        assert folder_of(suite, id_1) is None
        assert not os.path.exists(path_in(suite, "defer", id_1))

        done = ok(cli(suite, "queue", "delete", "--from", "Bulk-Sender@SENDER.example"))
        assert f"{id_from}: removed" in done.stdout and "1 message removed" in done.stdout, done
        assert folder_of(suite, id_from) is None
        # The local part is compared as written: no match, nothing removed.
        none = ok(cli(suite, "queue", "delete", "--to", "target@delta.example"))
        assert "0 messages removed" in none.stdout, none.stdout
        done = ok(cli(suite, "queue", "delete", "--to", "Target@DELTA.example"))
        assert f"{id_to}: removed" in done.stdout, done.stdout
        assert folder_of(suite, id_to) is None

        done = ok(cli(suite, "queue", "delete", "--all"))
        assert "2 messages removed" in done.stdout, done.stdout
        assert not suite.queue_files(), suite.queue_files()
        assert not os.listdir(os.path.join(suite.spool, "defer"))
        log = suite.log()
        for queue_id in ids:
            assert re.search(rf"postern/qmgr\[\d+\]: {queue_id}: removed", log), (queue_id, log)

        if not relay_built():
            return
        directory = sink_dir()
        try:
            with SmtpSink(directory, port=port) as sink:
                flushed = ok(cli(suite, "queue", "flush"))
                assert re.search(r"\b0 deferred messages\b", flushed.stdout), flushed.stdout
                token_n, _ = send(suite, SENDER, ["n@delta.example"])
                wait_until(lambda: token_n in sink_tokens(sink), 30, 0.05, "the new message")
                delivered = sink_tokens(sink)
                assert not any(t.decode() in delivered for t in by_id_token.values()), delivered
                assert sink.message_count() == 1
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def test_changes_with_the_suite_stopped():
    port = free_port()
    extra = f"mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:{port}\n" + SLOW_RETRIES
    with Suite(main_cf_extra=extra) as suite:
        sent = {name: send(suite, SENDER, [f"{name}@stopped.example"])
                for name in ("held", "deleted", "requeued", "released", "kept")}
        ids = {name: queue_id for name, (_, queue_id) in sent.items()}
        wait_deferred(suite, *ids.values())
        suite.stop()

        listed = json.loads(ok(cli(suite, "queue", "list", "--json")).stdout)
        assert len(listed["messages"]) == 5, listed
        ok(cli(suite, "queue", "show", ids["kept"]))

        done = ok(cli(suite, "queue", "hold", ids["held"], ids["released"]))
        assert "qmgr was not running" in done.stdout, done.stdout
        assert "2 messages placed on hold" in done.stdout, done.stdout
        assert folder_of(suite, ids["held"]) == "hold"
        done = ok(cli(suite, "queue", "release", ids["released"]))
        assert f"{ids['released']}: released from hold" in done.stdout, done.stdout
        assert folder_of(suite, ids["released"]) == "incoming"
        done = ok(cli(suite, "queue", "delete", ids["deleted"]))
        assert "1 message removed (qmgr was not running" in done.stdout, done.stdout
        assert folder_of(suite, ids["deleted"]) is None
        assert not os.path.exists(path_in(suite, "defer", ids["deleted"]))
        done = ok(cli(suite, "queue", "requeue", ids["requeued"]))
        assert folder_of(suite, ids["requeued"]) == "incoming"
        missing = cli(suite, "queue", "hold", "0000000000000000", ids["kept"])
        assert missing.returncode == 3, missing
        assert folder_of(suite, ids["kept"]) == "hold"
        ok(cli(suite, "queue", "release", ids["kept"]))
        assert folder_of(suite, ids["kept"]) == "incoming"
        # A flush needs qmgr.
        assert cli(suite, "queue", "flush").returncode == 4

        if not relay_built():
            return
        directory = sink_dir()
        try:
            with SmtpSink(directory, port=port) as sink:
                suite.start()
                wanted = [sent[n][0] for n in ("requeued", "released", "kept")]
                wait_until(lambda: all(t in sink_tokens(sink) for t in wanted), 30, 0.05,
                           "the messages put back into incoming/")
                wait_until(lambda: not suite.queue_files("incoming") and
                           not suite.queue_files("active"), 20, 0.05, "incoming/ emptied")
                delivered = sink_tokens(sink)
                assert sent["held"][0] not in delivered and sent["deleted"][0] not in delivered
                assert folder_of(suite, ids["held"]) == "hold"
                assert sink.message_count() == 3
        finally:
            shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def message_in_flight(recipient):
    """A suite whose relayhost is an smtp-sink that waits 4 s before answering DATA (and then
    refuses the message: -f .), and one message to recipient whose attempt is in flight.
    Yields (suite, queue_id)."""
    if not relay_built():
        skip_test("postern-relay not built")
    directory = sink_dir()
    try:
        with SmtpSink(directory, extra_args=["-w", "4", "-f", "."]) as sink:
            extra = (f"mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:{sink.port}\n"
                     + SLOW_RETRIES)
            with Suite(main_cf_extra=extra) as suite:
                _, queue_id = send(suite, SENDER, [recipient])
                wait_until(lambda: os.path.exists(path_in(suite, "active", queue_id)) and
                           re.search(rf"{queue_id}: from=<", suite.log()), 30, 0.02,
                           "the attempt in flight")
                yield suite, queue_id
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_delete_while_being_delivered():
    with message_in_flight("busy@slow.example") as (suite, queue_id):
        done = ok(cli(suite, "queue", "delete", queue_id))
        assert f"{queue_id}: removed (when its delivery attempt returns)" in done.stdout, \
            done.stdout
        wait_until(lambda: re.search(rf"{queue_id}: removed", suite.log()), 30, 0.05,
                   "the removal after the attempt")
        assert folder_of(suite, queue_id) is None
        log = suite.log()
        assert f"{queue_id}: to be removed when its delivery attempt returns" in log
        # The sink refused the message (-f .): deferred, but no retry and no bounce.
        assert not suite.messages(SENDER), "a bounce for a deleted message"
        assert not os.path.exists(path_in(suite, "defer", queue_id))


def test_hold_in_flight_survives_a_qmgr_crash():
    with message_in_flight("held@slow.example") as (suite, queue_id):
        done = ok(cli(suite, "queue", "hold", queue_id))
        assert "(when its delivery attempt returns)" in done.stdout, done.stdout
        listed = json.loads(ok(cli(suite, "queue", "list", "--json")).stdout)
        assert listed["messages"][0]["pending_action"] == "hold", listed
        # qmgr dies before the attempt returns; the one master starts next finds the
        # flag in active/ and holds the message before any delivery.
        [old] = suite.kill_worker("qmgr")
        wait_until(lambda: folder_of(suite, queue_id) == "hold", 30, 0.05, "hold/")
        # The line follows the rename: wait for it rather than read the log at once.
        wait_until(lambda: re.search(
            rf"postern/qmgr\[(?!{old}\])\d+\]: {queue_id}: placed on hold", suite.log()),
            30, 0.05, "the new qmgr's 'placed on hold' line")
        assert not re.search(rf"qmgr\[\d+\]: {queue_id}: from=<.*\n(?:.*\n)*.*"
                             rf"qmgr\[(?!{old}\])\d+\]: {queue_id}: from=<",
                             suite.log()), "the new qmgr tried it again"
        assert not suite.messages(SENDER), "a bounce for a held message"


if __name__ == "__main__":
    run_tests([test_list_show_flush_hold_release, test_requeue_takes_the_new_route,
               test_delete_running, test_changes_with_the_suite_stopped,
               test_delete_while_being_delivered, test_hold_in_flight_survives_a_qmgr_crash])
