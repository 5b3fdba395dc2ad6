"""imapflow (npm, the IMAP library of Node mail apps) against postern-imapd, over implicit TLS
and over STARTTLS: it lists the folders (the SPECIAL-USE ones created at first login are there
and marked), fetches envelope and source of every INBOX message (the source is the Maildir
file with CRLF line ends, byte for byte), flags and unflags, moves a message to the \\Trash
folder, and sits in IDLE until a message delivered through smtpd arrives. Every result is
checked where it lands: the Maildir file names (flags, folder) and a second, imaplib session.
Whole suite on loopback."""
import base64
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import (PASSWORD, address, check_ok, crlf, deliver, fill_maildir,  # noqa: E402
                          header_of, imaps, imap_suite, maildir_files, maildir_flags,
                          read_message)
from postern_harness import wait_until  # noqa: E402

NODE_DIR = os.path.join(os.path.abspath(postern_harness.SOURCE_DIR), "tests", "node")
SPECIAL_USE = {"\\Drafts": "Drafts", "\\Sent": "Sent", "\\Trash": "Trash", "\\Junk": "Junk",
               "\\Archive": "Archive"}


class NodeClient:
    """tests/node/imap_client.js as a child process: JSON events on stdout, "done" on stdin."""

    def __init__(self, options, log_path):
        node = shutil.which("node")
        assert node, "node is not installed (scripts/install-deps)"
        env = dict(os.environ, NODE_PATH=os.path.join(NODE_DIR, "node_modules"))
        self.log_path = log_path
        self.log = open(log_path, "wb")  # stderr to a file: a full pipe would stall node
        self.process = subprocess.Popen([node, os.path.join(NODE_DIR, "imap_client.js"),
                                         json.dumps(options)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.log, env=env)
        self.events = []
        self.buffer = b""

    def next_event(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no event from imapflow in {timeout}s; so far "
                                   f"{[e['event'] for e in self.events]}; stderr:\n"
                                   + self.stderr())
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 1 << 20)
                if not chunk:
                    self.process.wait(10)
                    raise AssertionError(f"imapflow exited {self.process.returncode}: "
                                         f"{self.stderr()}")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        event = json.loads(line)
        self.events.append(event)
        return event

    def expect(self, name, timeout=60.0):
        while True:
            event = self.next_event(timeout)
            if event["event"] == name:
                return event

    def finish(self):
        self.process.stdin.write(b"done\n")
        self.process.stdin.flush()
        after = self.expect("after-idle")
        self.process.wait(30)
        assert self.process.returncode == 0, self.stderr()
        return after

    def stderr(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read()[-5000:].decode(errors="replace")

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


def by_message_id(suite, user, folder=None, content=False):
    """Message-ID -> file path (or, with content, the file's bytes) of one Maildir folder. A
    file the server renames meanwhile (a flag change) makes it list the folder again."""
    for _ in range(50):
        found = {}
        try:
            for path in maildir_files(suite, user, folder):
                data = read_message(path)
                found[header_of(data, "Message-ID")] = data if content else path
            return found
        except FileNotFoundError:
            continue
    raise AssertionError("the Maildir kept changing under the reader")


def uid_message_ids(client):
    """UID -> Message-ID of the selected folder, through imaplib."""
    data = check_ok(client.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"),
                    "UID FETCH")
    result = {}
    for item in data:
        if isinstance(item, tuple):
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            result[uid] = header_of(item[1], "Message-ID")
    return result


def uid_flags(client):
    data = check_ok(client.uid("FETCH", "1:*", "(UID FLAGS)"), "UID FETCH FLAGS")
    result = {}
    for item in data:
        if isinstance(item, bytes):
            match = re.search(rb"UID (\d+).*FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\).*UID (\d+)", item)
            if match:
                uid = int(match.group(1) or match.group(4))
                flags = (match.group(2) if match.group(2) is not None else match.group(3))
                result[uid] = set(flags.decode().split())
    return result


def run_flow(suite, user, secure):
    fill_maildir(suite, user, 5)
    deliver(suite, user, f"delivered to {user} before imapflow", "through smtpd\n")
    other = imaps(suite, user)
    check_ok(other.select("INBOX"), "SELECT")
    ids = uid_message_ids(other)
    uids = sorted(ids)
    assert len(uids) == 6, ids
    flag_uid, unflag_uid, move_uid = uids[0], uids[1], uids[2]
    check_ok(other.uid("STORE", str(unflag_uid), "+FLAGS", "(\\Seen)"), "STORE")
    on_disk = by_message_id(suite, user, content=True)  # before imapflow renames files

    client = NodeClient({"port": suite.imaps_port if secure else suite.imap_port,
                         "secure": secure, "user": address(user), "pass": PASSWORD,
                         "ca": suite.cert, "flag": {"add": [flag_uid], "remove": [unflag_uid]},
                         "move": [move_uid]}, os.path.join(suite.root, f"imapflow-{user}.log"))
    try:
        capabilities = client.expect("capabilities")["capabilities"]
        for needed in ("IDLE", "MOVE", "UIDPLUS", "SPECIAL-USE"):
            assert needed in capabilities, capabilities

        folders = {f["path"]: f for f in client.expect("list")["folders"]}
        assert "INBOX" in folders, folders
        for use, name in SPECIAL_USE.items():
            marked = [f for f in folders.values() if f["specialUse"] == use]
            assert marked and marked[0]["path"] == name, (use, folders)
            if suite.dovecot is None:  # Dovecot's autocreated folders exist only when used
                assert os.path.isdir(os.path.join(suite.maildir(address(user)), "." + name)), \
                    name
        assert {f["delimiter"] for f in folders.values()} == {"."}, folders

        opened = client.expect("opened")
        assert opened["exists"] == 6, opened
        fetched = client.expect("fetched")["messages"]
        assert sorted(m["uid"] for m in fetched) == uids, fetched
        for message in fetched:
            expected = crlf(on_disk[ids[message["uid"]]])
            source = base64.b64decode(message["source"])
            assert source == expected, (message["uid"], source[:200], expected[:200])
            assert message["size"] == len(expected), (message["size"], len(expected))
            assert message["subject"] == header_of(expected, "Subject"), message["subject"]
            assert message["messageId"] == ids[message["uid"]], message["messageId"]
        assert "\\Seen" in [m for m in fetched if m["uid"] == unflag_uid][0]["flags"]

        flags = {m["uid"]: set(m["flags"]) for m in client.expect("flags")["messages"]}
        assert {"\\Flagged", "\\Seen"} <= flags[flag_uid], flags
        assert "\\Seen" not in flags[unflag_uid], flags

        moved = client.expect("moved")
        assert moved["destination"] == "Trash", moved
        assert moved["uidMap"] and moved["uidMap"][0][0] == move_uid, moved

        # The Maildir: flags in the file names, the moved message in .Trash, none lost.
        def disk_agrees():
            files = by_message_id(suite, user)
            trash = by_message_id(suite, user, "Trash")
            return (set(maildir_flags(files[ids[flag_uid]])) >= {"F", "S"}
                    and "S" not in maildir_flags(files[ids[unflag_uid]])
                    and ids[move_uid] not in files and ids[move_uid] in trash
                    and len(files) == 5 and len(trash) == 1)
        wait_until(disk_agrees, 5, what="flags and the move in the Maildir")

        # The second session sees the same thing.
        check_ok(other.noop(), "NOOP")
        seen_flags = uid_flags(other)
        assert move_uid not in seen_flags and len(seen_flags) == 5, seen_flags
        assert {"\\Flagged", "\\Seen"} <= seen_flags[flag_uid], seen_flags
        assert "\\Seen" not in seen_flags[unflag_uid], seen_flags
        check_ok(other.select("Trash"), "SELECT Trash")
        assert list(uid_message_ids(other).values()) == [ids[move_uid]]

        # IDLE: a delivery through smtpd shows up as EXISTS.
        idling = client.expect("idling")
        assert idling["exists"] == 5, idling
        deliver(suite, user, f"arrives during imapflow IDLE for {user}", wait=False)
        accepted = time.monotonic()
        exists = client.expect("exists", timeout=10)
        waited = time.monotonic() - accepted
        assert exists["count"] == 6 and exists["prevCount"] == 5, exists
        assert waited < 5, waited
        after = client.finish()
        assert after["exists"] == 6, after
        other.logout()
    finally:
        client.kill()


def test_imapflow_imaps():
    with imap_suite() as suite:
        run_flow(suite, "demo", secure=True)


def test_imapflow_starttls():
    with imap_suite() as suite:
        run_flow(suite, "alice", secure=False)


if __name__ == "__main__":
    postern_harness.run_tests([test_imapflow_imaps, test_imapflow_starttls])
