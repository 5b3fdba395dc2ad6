"""mbsync (isync) against postern-imapd: an INBOX of 1,000 messages is synced down to a local
Maildir; flags are then changed on both sides (locally by renaming the files as a Maildir
client does, remotely through imaplib), a new message appears on each side (delivered through
smtpd on the server, a new file locally), and mbsync syncs up and down again, twice over.
After each round both sides hold exactly the same Message-IDs, each once (no duplicate, no
loss: counted in the server's Maildir, in IMAP and in the local Maildir) with the same flags.
Runs over implicit TLS and (a smaller round) STARTTLS; the suite's certificate is mbsync's
CertificateFile. Whole suite on loopback; every mbsync run is bounded in time."""
import os
import re
import subprocess
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import (PASSWORD, check_ok, deliver, fill_maildir, header_of,  # noqa: E402
                          imaps, imap_suite, maildir_files, maildir_flags, read_message, which)

kMessages = 1000
kMbsyncSeconds = 300
IMAP_TO_MAILDIR = {"\\Seen": "S", "\\Flagged": "F", "\\Answered": "R", "\\Draft": "D",
                   "\\Deleted": "T"}


def write_config(suite, local, starttls):
    path = os.path.join(suite.root, "mbsyncrc")
    port = suite.imap_port if starttls else suite.imaps_port
    with open(path, "w") as f:
        f.write(f"""IMAPAccount postern
Host 127.0.0.1
Port {port}
User demo@example.test
Pass {PASSWORD}
SSLType {"STARTTLS" if starttls else "IMAPS"}
CertificateFile {suite.cert}
Timeout 60

IMAPStore remote
Account postern

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel inbox
Far :remote:
Near :local:
Patterns INBOX
Create Both
Sync All
Expunge None
SyncState *
""")
    return path


def mbsync(config):
    started = time.monotonic()
    result = subprocess.run([which("mbsync"), "-c", config, "-a"], capture_output=True,
                            timeout=kMbsyncSeconds)
    assert result.returncode == 0, (result.returncode, result.stdout[-3000:],
                                    result.stderr[-3000:])
    return time.monotonic() - started


def local_files(local):
    found = []
    for sub in ("new", "cur"):
        folder = os.path.join(local, "INBOX", sub)
        if os.path.isdir(folder):
            found += [os.path.join(folder, n) for n in os.listdir(folder)]
    return found


def local_state(local):
    """Message-ID -> Maildir flags of the local copy; fails on a duplicate."""
    ids = Counter()
    state = {}
    for path in local_files(local):
        message_id = header_of(read_message(path), "Message-ID")
        ids[message_id] += 1
        state[message_id] = "".join(sorted(maildir_flags(path)))
    duplicates = [m for m, n in ids.items() if n > 1]
    assert not duplicates, f"local duplicates: {duplicates[:5]}"
    return state


def server_disk_state(suite):
    """Message-ID -> flags in the file names of the server's Maildir; fails on a duplicate."""
    ids = Counter()
    state = {}
    for path in maildir_files(suite, "demo"):
        message_id = header_of(read_message(path), "Message-ID")
        ids[message_id] += 1
        state[message_id] = "".join(sorted(maildir_flags(path)))
    duplicates = [m for m, n in ids.items() if n > 1]
    assert not duplicates, f"server duplicates: {duplicates[:5]}"
    return state


def server_imap_state(suite):
    """Message-ID -> flags (as Maildir letters) and seq -> UID, through imaplib."""
    client = imaps(suite)
    check_ok(client.select("INBOX"), "SELECT")
    data = check_ok(client.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"))
    client.logout()
    ids = Counter()
    state = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
        message_id = header_of(item[1], "Message-ID")
        ids[message_id] += 1
        state[message_id] = "".join(sorted(IMAP_TO_MAILDIR[f] for f in flags
                                           if f in IMAP_TO_MAILDIR))
    duplicates = [m for m, n in ids.items() if n > 1]
    assert not duplicates, f"IMAP duplicates: {duplicates[:5]}"
    return state


def check_in_step(suite, local, expected_count):
    here = local_state(local)
    imap = server_imap_state(suite)
    disk = server_disk_state(suite)
    assert len(here) == expected_count, (len(here), expected_count)
    assert set(here) == set(imap) == set(disk), (set(here) ^ set(imap), set(imap) ^ set(disk))
    differ = {m: (here[m], imap[m]) for m in here if here[m] != imap[m]}
    assert not differ, f"{len(differ)} differ (local, server): {list(differ.items())[:5]}"
    differ = {m: (disk[m], imap[m]) for m in disk if disk[m] != imap[m]}
    assert not differ, f"{len(differ)} differ (server file, IMAP): {list(differ.items())[:5]}"
    return here


def set_local_flags(path, flags):
    """Renames a local message as a Maildir client does: into cur/ with ':2,<flags>'."""
    folder = os.path.dirname(os.path.dirname(path))
    base = os.path.basename(path).split(":2,", 1)[0]
    target = os.path.join(folder, "cur", f"{base}:2,{''.join(sorted(flags))}")
    os.rename(path, target)
    return target


def add_local_message(local, index):
    name = f"{int(time.time())}.local{index}.{os.getpid()}.h5host"
    path = os.path.join(local, "INBOX", "new", name)
    with open(path, "wb") as f:
        f.write(f"From: <demo@example.test>\nTo: <bob@example.test>\nSubject: written "
                f"locally {index}\nMessage-ID: <local-{index}-{os.getpid()}@h5.example>\n"
                f"Date: Mon, 23 Nov 2026 10:00:00 +0000\n\nlocal body {index}\n".encode())
    return path


def by_message_id(local):
    return {header_of(read_message(p), "Message-ID"): p for p in local_files(local)}


def filled_number(path_or_bytes):
    """N of a fill_maildir message ("filled message N"), -1 for others."""
    data = read_message(path_or_bytes) if isinstance(path_or_bytes, str) else path_or_bytes
    match = re.match(r"filled message (\d+)$", header_of(data, "Subject") or "")
    return int(match.group(1)) if match else -1


def remote_store(suite, which_numbers, command, flags):
    """UID STORE through imaplib on the filled messages whose number which_numbers likes."""
    client = imaps(suite)
    check_ok(client.select("INBOX"), "SELECT")
    data = check_ok(client.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    uids = [re.search(rb"UID (\d+)", item[0]).group(1).decode() for item in data
            if isinstance(item, tuple) and which_numbers(filled_number(item[1]))]
    assert uids, "no message to change remotely"
    check_ok(client.uid("STORE", ",".join(uids), command, flags), "UID STORE")
    client.logout()


def sync_round_trip(starttls, count):
    with imap_suite() as suite:
        fill_maildir(suite, "demo", count)
        local = os.path.join(suite.root, "local")
        os.makedirs(local)
        config = write_config(suite, local, starttls)
        took = mbsync(config)
        print(f"mbsync down: {count} messages in {took:.1f}s")
        state = check_in_step(suite, local, count)
        assert all(flags == "" for flags in state.values()), Counter(state.values())

        expected = count
        for round_number in range(2):
            paths = by_message_id(local)
            # Local changes on odd-numbered messages, remote ones on even-numbered: a flag
            # changed on both sides between two syncs is a conflict, not what is tested here.
            ids = sorted(m for m in paths if filled_number(paths[m]) % 2 == 1)
            step = max(1, count // 40)
            # Local: flag, mark read, answer, and take back earlier flags.
            for i, message_id in enumerate(ids[round_number::step]):
                current = set(maildir_flags(paths[message_id]))
                if round_number == 0:
                    current |= {"F", "S"} if i % 2 else {"S"}
                else:
                    current ^= {"F"}
                    current |= {"R"}
                set_local_flags(paths[message_id], current)
            add_local_message(local, round_number)
            # Remote: flags through IMAP on other messages, and a delivery through smtpd.
            remote_store(suite, lambda n: n % 2 == 0 and n < 80 + round_number * 10,
                         "+FLAGS" if round_number == 0 else "-FLAGS", "(\\Answered \\Seen)")
            deliver(suite, "demo", f"delivered before sync round {round_number}")
            expected += 2
            took = mbsync(config)
            took += mbsync(config)  # a second run must change nothing (and duplicate nothing)
            print(f"mbsync round {round_number}: {took:.1f}s")
            check_in_step(suite, local, expected)
        # And one more pass changes nothing at all.
        before = sorted(os.path.basename(p) for p in local_files(local))
        server_before = sorted(os.path.basename(p) for p in maildir_files(suite, "demo"))
        mbsync(config)
        assert sorted(os.path.basename(p) for p in local_files(local)) == before
        server_after = sorted(os.path.basename(p) for p in maildir_files(suite, "demo"))
        assert len(server_after) == len(server_before) == expected, \
            (len(server_before), len(server_after))


def test_mbsync_1000_messages_imaps():
    sync_round_trip(starttls=False, count=kMessages)


def test_mbsync_starttls():
    sync_round_trip(starttls=True, count=50)


if __name__ == "__main__":
    postern_harness.run_tests([test_mbsync_1000_messages_imaps, test_mbsync_starttls])
