"""Helpers for the tests of local mail: sendmail(1) and postern-postdrop run as root or as a
sandbox user, postern-local's /var/mail mboxes read back message by message, bounces (DSNs)
found and read, and queue-file images made by hand. Used by tests/peer/test_local_delivery.py,
tests/peer/test_sendmail_security.py and tests/durability/test_sendmail_kill.py, with a Suite
(postern_harness) and, for users and the setgid postdrop, a SystemRoot (system_root).

Everything here reads what the product wrote and trusts none of it: an mbox is split only on
"From " line starts (the writer escapes every other one as ">From "); every wait is bounded.

    run = sendmail_as(suite, root, "alice", ["-i", "bob@localhost"], text)
    message = wait_mbox_message(suite, "bob", token)
"""
import email
import os
import re
import struct
import subprocess
import sys
import uuid

from postern_harness import BIN_DIR, wait_until

kLandSeconds = 30
kCommandSeconds = 60
# What a local Suite adds to main.cf: the postdrop group of system_root's setgid copy. No
# $myorigin: bare names get $myhostname, which is in mydestination, so they reach postern-local.
kLocalMainCf = "setgid_group = postdrop\n"
kFromLine = re.compile(rb"^From (\S+) (\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})$")


def token(prefix="tok"):
    """A unique word to find one message by."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# ---- sending ---------------------------------------------------------------------------------
def sendmail_argv(config_dir, args):
    return [os.path.join(BIN_DIR, "sendmail"), "-C", config_dir] + list(args)


def sendmail_as(suite, root, user, args, text, check=True, config_dir=None):
    """sendmail -C DIR ARGS with text on stdin, as root (user None) or as a sandbox user
    through root.run_as. DIR: config_dir, else suite.etc for root and /etc/postern (the
    sandbox's link to suite.etc: root.install_sendmail) for a user, since the setgid postdrop
    takes no other directory from a user. Returns the CompletedProcess (bytes); with check,
    asserts exit 0."""
    data = text.encode() if isinstance(text, str) else text
    argv = sendmail_argv(config_dir or (suite.etc if user is None else "/etc/postern"), args)
    if user is None:
        result = subprocess.run(argv, input=data, capture_output=True, timeout=kCommandSeconds)
    else:
        result = subprocess.run(root.as_user_argv(user, argv), input=data, capture_output=True,
                                env=root.user_env(user), cwd="/", timeout=kCommandSeconds)
    if check:
        assert result.returncode == 0, (argv, user, result.returncode, result.stderr)
    return result


def simple_message(subject, body, sender="root@localhost", to="undisclosed-recipients:;"):
    """A complete message (From:, To:, Subject:, Date:, Message-ID:), so sendmail adds nothing."""
    return (f"From: {sender}\nTo: {to}\nSubject: {subject}\n"
            f"Date: Mon, 07 Dec 2026 10:00:00 +0000\n"
            f"Message-ID: <{uuid.uuid4().hex}@test.example>\n\n{body}")


# ---- /var/mail -------------------------------------------------------------------------------
def mbox_path(suite, user):
    return os.path.join(suite.var_mail, user)


def split_mbox(data):
    """The messages of an mbox (bytes), each starting with its "From " line."""
    messages = []
    start = None
    position = 0
    for line in data.splitlines(keepends=True):
        if line.startswith(b"From "):
            if start is not None:
                messages.append(data[start:position])
            start = position
        position += len(line)
    if start is not None:
        messages.append(data[start:])
    return messages


def mbox_messages(suite, user):
    try:
        with open(mbox_path(suite, user), "rb") as f:
            return split_mbox(f.read())
    except FileNotFoundError:
        return []


def messages_with(suite, user, marker):
    needle = marker.encode() if isinstance(marker, str) else marker
    return [m for m in mbox_messages(suite, user) if needle in m]


def wait_mbox_message(suite, user, marker, timeout=kLandSeconds):
    """The one message of user's mbox holding marker (bytes, From_ line first), once there."""
    def find():
        hits = messages_with(suite, user, marker)
        assert len(hits) <= 1, f"{len(hits)} messages with {marker} for {user}"
        return hits[0] if hits else None
    try:
        return wait_until(find, timeout, 0.05, f"mail with {marker} in /var/mail/{user}")
    except TimeoutError:
        raise TimeoutError(f"no mail with {marker} in {mbox_path(suite, user)}; log:\n"
                           + suite.log()[-4000:]) from None


def assert_not_delivered(suite, user, marker, seconds):
    """Waits seconds and checks that no message with marker reached user's mbox."""
    try:
        wait_until(lambda: messages_with(suite, user, marker), seconds, 0.1)
    except TimeoutError:
        return
    raise AssertionError(f"{marker} reached /var/mail/{user}")


def parse(raw):
    """An mbox message (From_ line first) as an email.message.Message."""
    return email.message_from_bytes(raw.split(b"\n", 1)[1])


def maildir_messages(folder):
    try:
        return sorted(os.path.join(folder, n) for n in os.listdir(folder)
                      if not n.startswith("."))
    except FileNotFoundError:
        return []


# ---- bounces ---------------------------------------------------------------------------------
def dsn_fields(raw):
    """(status, diagnostic, final recipient) of the first recipient of a DSN (bytes)."""
    text = raw.decode(errors="replace")
    status = re.search(r"^Status: (\S+)", text, re.M)
    diagnostic = re.search(r"^Diagnostic-Code: (.*)$", text, re.M)
    final = re.search(r"^Final-Recipient: rfc822; (\S+)", text, re.M)
    return (status.group(1) if status else None, diagnostic.group(1) if diagnostic else None,
            final.group(1) if final else None)


def wait_bounce(suite, user, marker, timeout=kLandSeconds):
    """The DSN in user's mbox about the message holding marker (its header section is quoted)."""
    def find():
        for raw in messages_with(suite, user, marker):
            if b"Subject: Undelivered Mail Returned to Sender" in raw:
                return raw
        return None
    try:
        return wait_until(find, timeout, 0.05, f"a bounce of {marker} for {user}")
    except TimeoutError:
        raise TimeoutError(f"no bounce of {marker} in /var/mail/{user}; log:\n"
                           + suite.log()[-4000:]) from None


def log_lines(suite, *needles):
    """The log lines holding every needle."""
    return [line for line in suite.log().splitlines() if all(n in line for n in needles)]


def wait_log(suite, *needles, timeout=kLandSeconds):
    try:
        return wait_until(lambda: log_lines(suite, *needles), timeout, 0.05,
                          f"a log line with {needles}")
    except TimeoutError:
        raise TimeoutError(f"no log line with {needles}:\n" + suite.log()[-4000:]) from None


# ---- queue-file images (lib/queue/queue_file.hpp) --------------------------------------------
def record(kind, payload):
    data = payload.encode() if isinstance(payload, str) else payload
    return kind.encode() + struct.pack(">I", len(data)) + data


def queue_image(sender, recipients, message, attributes=(), now=1700000000):
    """A queue-file image as sendmail(1) hands it to postdrop: V, T, S (zero), F, A..., R...,
    M (wire form, in 64 KiB chunks), E."""
    out = record("V", "postern-queue 1") + record("T", str(now)) + record("S", bytes(16))
    out += record("F", sender)
    for name, value in attributes:
        out += record("A", f"{name}={value}")
    for address in recipients:
        out += record("R", b"P" + address.encode() + b"\0\0")
    wire = message.encode() if isinstance(message, str) else message
    for offset in range(0, len(wire), 65536):
        out += record("M", wire[offset:offset + 65536])
    return out + record("E", b"")


def run_postdrop_as(suite, root, user, image, config_dir=None):
    """The setgid postern-postdrop of root.bin_dir, run directly by user with image on stdin."""
    argv = [os.path.join(root.bin_dir, "postern-postdrop"), "-c", config_dir or suite.etc]
    return subprocess.run(root.as_user_argv(user, argv), input=image, capture_output=True,
                          env=root.user_env(user), cwd="/", timeout=kCommandSeconds)


def print_log_tail(suite, size=4000):
    sys.stderr.write(f"--- postern log, last lines ---\n{suite.log()[-size:]}\n")
