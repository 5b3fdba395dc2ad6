"""Milters for the milter tests (issue 12), each on its own free loopback port.

TestMilter runs the scriptable libmilter program tests/milter/test_milter.c (built as
build/tests/milter/test-milter) with the flags a test gives, and reads back its JSON log:

    with TestMilter("add-header:X-Test:yes", leading_space=True) as milter:
        main_cf = f"smtpd_milters = {milter.spec}\\n"       # inet:127.0.0.1:PORT, Postfix form
        ...
        [e["value"] for e in milter.events("header")]

The fault milters speak (or fail to speak) the milter protocol themselves, from Python threads,
for the cases a well-behaved libmilter program cannot produce:

    not_listening_spec()    a loopback port nobody listens on
    SilentMilter            accepts, reads, never answers
    GarbageMilter           answers the option negotiation with bytes that are no milter packet
    CloseMidBodyMilter      negotiates, answers every step with CONTINUE, and closes the socket
                            when the first body chunk arrives

Milter packets (Sendmail milter protocol, v6): a 4-byte big-endian length, then that many bytes,
the first of which is the command (MTA to milter) or reply (milter to MTA) code. Everything here
talks only to 127.0.0.1; every wait is bounded; stop() ends only what this object started.
"""
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading

from postern_harness import BUILD_DIR, free_port, wait_until

TEST_MILTER = os.path.abspath(os.path.join(BUILD_DIR, "tests", "milter", "test-milter"))


def test_milter_unavailable_reason():
    """None when the test-milter program is built, else why not (for skip_test)."""
    if not os.access(TEST_MILTER, os.X_OK):
        return (f"{TEST_MILTER} is not built (needs libmilter-dev: scripts/install-deps, then "
                "cmake --build build --target test-milter)")
    return None


class TestMilter:
    """One test-milter process. actions: the --action values ("reject-eom", "add-header:X:y")."""

    __test__ = False  # not a pytest test class, whatever the name says

    def __init__(self, *actions, leading_space=False, no_reply=False, symlists=(), start=True):
        self.actions = list(actions)
        self.leading_space = leading_space
        self.no_reply = no_reply
        self.symlists = list(symlists)  # ("mail", "{mail_addr} i"), ...
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="test-milter-")
        self.log_path = os.path.join(self.dir, "events.jsonl")
        self.process = None
        if start:
            self.start()

    @property
    def spec(self):
        """The milter's address as main.cf names it (Postfix form)."""
        return f"inet:127.0.0.1:{self.port}"

    def command(self):
        # --exit-with-parent: a test runner killed by a timeout takes the milter with it (it
        # runs in a session of its own, out of reach of a signal to the runner's group).
        argv = [TEST_MILTER, "--socket", f"inet:{self.port}@127.0.0.1", "--log", self.log_path,
                "--exit-with-parent"]
        for action in self.actions:
            argv += ["--action", action]
        if self.leading_space:
            argv.append("--leading-space")
        if self.no_reply:
            argv.append("--no-reply-flags")
        for stage, macros in self.symlists:
            argv += ["--symlist", f"{stage}:{macros}"]
        return argv

    def start(self, timeout=10.0):
        stderr_path = os.path.join(self.dir, "stderr")
        with open(stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL,
                                            stderr=stderr, start_new_session=True)

        def listening():
            if self.process.poll() is not None:
                with open(stderr_path, errors="replace") as f:
                    raise RuntimeError(f"test-milter exited with {self.process.returncode}: "
                                       f"{f.read()}")
            return any(e["event"] == "listening" for e in self.events())
        # The program writes {"event":"listening"} once its socket listens: no probe connection
        # (which libmilter would log as a broken session) is needed.
        wait_until(listening, timeout, what=f"test-milter on port {self.port}")

    def events(self, kind=None):
        """The log so far, parsed; only events named kind if given. A line still being written
        (no newline yet) is left for the next call."""
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        parsed = []
        for line in data.split(b"\n")[:-1]:
            event = json.loads(line.decode("ascii"))
            if kind is None or event["event"] == kind:
                parsed.append(event)
        return parsed

    def wait_for_event(self, kind, count=1, timeout=20.0):
        return wait_until(lambda: len(self.events(kind)) >= count and self.events(kind),
                          timeout, what=f"{count} '{kind}' events from test-milter")

    def stop(self, timeout=10.0):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()  # by PID: this process only
            self.process.wait(5)
            raise RuntimeError(f"test-milter (pid {self.process.pid}) ignored SIGTERM")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if exc_type is None and os.environ.get("POSTERN_KEEP_TEST_DIR") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


# ---- the protocol, for the fault milters -------------------------------------------------------

MILTER_VERSION = 6
MAX_PACKET_BYTES = 1 << 20   # more than any MTA sends (body chunks are 64 KiB at most)
SMFIC_OPTNEG = b"O"
SMFIC_MACRO = b"D"
SMFIC_BODY = b"B"
SMFIC_ABORT = b"A"
SMFIC_QUIT = b"Q"
SMFIC_QUIT_NC = b"K"
SMFIR_CONTINUE = b"c"
# Every modification action of protocol 6 (SMFIF_ADDHDRS ... SMFIF_SETSYMLIST).
ALL_ACTIONS = 0x1FF


def packet(code, data=b""):
    """One milter packet: length (code + data), big-endian, then the code and the data."""
    return struct.pack(">I", 1 + len(data)) + code + data


def read_exactly(conn, count):
    """count bytes from conn, or None if the peer closed first."""
    chunks = []
    while count:
        chunk = conn.recv(count)
        if not chunk:
            return None
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def read_packet(conn):
    """(code, data) of the next packet, or None at end of stream. Raises ValueError on a length
    that is zero or past MAX_PACKET_BYTES."""
    header = read_exactly(conn, 4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    if length == 0 or length > MAX_PACKET_BYTES:
        raise ValueError(f"milter packet length {length}")
    body = read_exactly(conn, length)
    if body is None:
        return None
    return body[:1], body[1:]


def optneg_reply(actions=ALL_ACTIONS, steps=0):
    """The milter's answer to SMFIC_OPTNEG: version 6, the actions it may take, and the protocol
    flags (SMFIP_NO*: steps it does not want; 0 = every step, each answered)."""
    return packet(SMFIC_OPTNEG, struct.pack(">III", MILTER_VERSION, actions, steps))


def not_listening_spec():
    """inet:127.0.0.1:PORT for a loopback port that nothing listens on (free_port checked it
    and never hands it out again in this process)."""
    return f"inet:127.0.0.1:{free_port()}"


class FaultMilter:
    """A listening socket on a free loopback port; serve(conn) runs in a thread per connection.
    Every socket has a timeout so that each thread ends within about a second of stop()."""

    POLL_SECONDS = 0.5
    PACKET_SECONDS = 10.0

    def __init__(self):
        self.port = free_port()
        self.connections = 0          # how many MTA connections arrived
        self.commands = []            # the command codes received, in order (all connections)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(16)
        self._listener.settimeout(self.POLL_SECONDS)
        accept_thread = threading.Thread(target=self._accept_loop, daemon=True)
        accept_thread.start()
        self._threads.append(accept_thread)

    @property
    def spec(self):
        return f"inet:127.0.0.1:{self.port}"

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            worker = threading.Thread(target=self._serve_and_close, args=(conn,), daemon=True)
            worker.start()
            self._threads.append(worker)

    def _serve_and_close(self, conn):
        try:
            self.serve(conn)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    def _record(self, code):
        with self._lock:
            self.commands.append(code.decode("latin-1"))

    def next_packet(self, conn):
        """The next packet; None at end of stream or on stop. Waits for its first byte in
        POLL_SECONDS steps, then reads the whole packet (bounded by PACKET_SECONDS)."""
        while not self._stopping.is_set():
            readable, _, _ = select.select([conn], [], [], self.POLL_SECONDS)
            if not readable:
                continue
            conn.settimeout(self.PACKET_SECONDS)
            got = read_packet(conn)
            if got is not None:
                self._record(got[0])
            return got
        return None

    def drain(self, conn):
        """Reads and drops whatever comes until the MTA hangs up (or stop)."""
        while not self._stopping.is_set():
            readable, _, _ = select.select([conn], [], [], self.POLL_SECONDS)
            if readable and not conn.recv(65536):
                return

    def serve(self, conn):
        raise NotImplementedError

    def stop(self, timeout=5.0):
        self._stopping.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        return False


class SilentMilter(FaultMilter):
    """Accepts the MTA, reads whatever comes, and never answers."""

    def serve(self, conn):
        self.drain(conn)


class GarbageMilter(FaultMilter):
    """Answers the option negotiation with bytes that are not a milter packet (an HTTP status
    line: as a length, "HTTP" is 1.2 GB), then reads until the MTA hangs up."""

    GARBAGE = b"HTTP/1.0 400 Bad Request\r\n\r\n"

    def serve(self, conn):
        got = self.next_packet(conn)
        if got is None:
            return
        conn.sendall(self.GARBAGE)
        self.drain(conn)


class ContinueMilter(FaultMilter):
    """Negotiates version 6 with every step and answers each step with CONTINUE. A subclass
    changes what one step gets by overriding answer(conn, code, data); False from it hangs up."""

    def serve(self, conn):
        while True:
            got = self.next_packet(conn)
            if got is None:
                return
            code, data = got
            if code == SMFIC_OPTNEG:
                conn.sendall(optneg_reply())
            elif code in (SMFIC_QUIT, SMFIC_QUIT_NC):
                return
            elif code in (SMFIC_MACRO, SMFIC_ABORT):
                continue  # no reply to these
            elif not self.answer(conn, code, data):
                return  # _serve_and_close closes the socket

    def answer(self, conn, code, data):
        conn.sendall(packet(SMFIR_CONTINUE))
        return True


class CloseMidBodyMilter(ContinueMilter):
    """Answers each step with CONTINUE and closes the connection without a word when the first
    body chunk arrives."""

    def answer(self, conn, code, data):
        if code == SMFIC_BODY:
            return False
        return super().answer(conn, code, data)
