"""Helpers for the smtpd suite tests (tests/protocol/test_smtpd_*.py and
tests/durability/test_smtpd_kill.py): a raw SMTP socket that reads replies exactly as the server
wrote them (so a test can pipeline anything, including bytes no library client would send), and
small Maildir helpers. Not a test itself (CTest runs only test_*.py). Every read has a timeout.
"""
import os
import socket
import time


class Wire:
    """A raw SMTP client connection to host:port (127.0.0.1 unless told)."""

    def __init__(self, port, timeout=20.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _read_line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; unread: %r" % self.buffer)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line.decode("utf-8", errors="replace")

    def reply(self):
        """One (possibly multi-line) reply: (code, [text lines])."""
        lines = []
        while True:
            line = self._read_line()
            if len(line) < 3 or not line[:3].isdigit():
                raise ValueError("not an SMTP reply line: %r" % line)
            lines.append(line[4:])
            if len(line) == 3 or line[3] == " ":
                return int(line[:3]), lines

    def expect(self, code, contains=None):
        got, lines = self.reply()
        text = "\n".join(lines)
        if got != code or (contains is not None and contains not in text):
            raise AssertionError(f"expected {code} {contains or ''}, got {got} {text}")
        return text

    def command(self, line, code, contains=None):
        self.send(line + "\r\n")
        return self.expect(code, contains)

    def greet(self, helo="client.example.net"):
        self.expect(220)
        return self.command(f"EHLO {helo}", 250)

    def closed_by_peer(self, timeout=10.0):
        """True when the server closes the connection (EOF or reset) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def maildir_body(path):
    """A delivered message with the three trace fields delivery and smtpd put on top
    (Return-Path, Delivered-To, Received with its folded lines) taken off, plus those fields."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    fields = {}
    index = 0
    for name in (b"Return-Path", b"Delivered-To", b"Received"):
        line = lines[index]
        if not line.startswith(name + b": "):
            raise AssertionError(f"expected {name!r} at line {index}, got {line!r}")
        value = line[len(name) + 2:]
        index += 1
        while index < len(lines) and lines[index][:1] in (b"\t", b" "):
            value += b"\n" + lines[index]
            index += 1
        fields[name.decode()] = value.decode("utf-8", errors="replace")
    return b"\n".join(lines[index:]), fields


def incoming_entries(suite):
    """Every name in the queue's incoming/ folder, temporary files included."""
    try:
        return os.listdir(os.path.join(suite.spool, "incoming"))
    except FileNotFoundError:
        return []


def wait_queue_empty(suite, timeout=30.0):
    """Waits until no queue file is left anywhere (everything delivered or bounced)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not suite.queue_files():
            return
        time.sleep(0.05)
    raise TimeoutError(f"queue not empty: {suite.queue_files()}")
