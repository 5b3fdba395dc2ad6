"""A loopback relay between an MTA and a milter that writes down every milter packet both
ways, decoded: what a real milter negotiates (actions, protocol steps, the macros it asks
for), which steps it answers, and each edit it sends. A debugging aid for the milter client
(issue 12) and for the real-milter peer tests: point the MTA at tap.spec instead of the
milter's spec.

    with Rspamd() as rspamd, MilterTap(rspamd.port, "/tmp/rspamd.tap") as tap:
        MtaUnderTest("postfix", smtpd_milters=tap.spec) ...

Or on its own: python3 milter_tap.py MILTER_PORT LISTEN_PORT TRANSCRIPT. Trusts nothing it
relays (a packet it cannot decode is written as hex); a packet over 1 MB ends the session.
"""
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from postern_harness import free_port  # noqa: E402

MAX_PACKET_BYTES = 1 << 20

MTA_COMMANDS = {
    b"O": "OPTNEG", b"D": "MACRO", b"C": "CONNECT", b"H": "HELO", b"M": "MAIL", b"R": "RCPT",
    b"T": "DATA", b"L": "HEADER", b"N": "EOH", b"B": "BODY", b"E": "EOM", b"A": "ABORT",
    b"Q": "QUIT", b"K": "QUIT_NC", b"U": "UNKNOWN",
}
MILTER_REPLIES = {
    b"O": "OPTNEG", b"c": "CONTINUE", b"r": "REJECT", b"t": "TEMPFAIL", b"y": "REPLYCODE",
    b"h": "ADDHEADER", b"i": "INSHEADER", b"m": "CHGHEADER", b"b": "REPLBODY", b"+": "ADDRCPT",
    b"-": "DELRCPT", b"2": "ADDRCPT_PAR", b"e": "CHGFROM", b"s": "SKIP", b"a": "ACCEPT",
    b"d": "DISCARD", b"p": "PROGRESS", b"q": "QUARANTINE", b"f": "CONN_FAIL", b"S": "SETSYMLIST",
}
ACTION_FLAGS = ["ADDHDRS", "CHGBODY", "ADDRCPT", "DELRCPT", "CHGHDRS", "QUARANTINE", "CHGFROM",
                "ADDRCPT_PAR", "SETSYMLIST"]
PROTOCOL_FLAGS = ["NOCONNECT", "NOHELO", "NOMAIL", "NORCPT", "NOBODY", "NOHDRS", "NOEOH",
                  "NR_HDR", "NOUNKNOWN", "NODATA", "SKIP", "RCPT_REJ", "NR_CONN", "NR_HELO",
                  "NR_MAIL", "NR_RCPT", "NR_DATA", "NR_UNKN", "NR_EOH", "NR_BODY",
                  "HDR_LEADSPC"]
MACRO_STAGES = ["connect", "helo", "mail", "rcpt", "data", "eom", "eoh"]


def flag_names(value, names):
    found = [name for bit, name in enumerate(names) if value & (1 << bit)]
    rest = value & ~((1 << len(names)) - 1)
    return "|".join(found + ([hex(rest)] if rest else [])) or "0"


def describe(direction, command, data):
    """One line for a packet."""
    names = MTA_COMMANDS if direction == "mta>" else MILTER_REPLIES
    name = names.get(command, f"?{command!r}")
    try:
        if command == b"O":
            version, actions, protocol = struct.unpack("!III", data[:12])
            text = (f"version={version} actions={flag_names(actions, ACTION_FLAGS)} "
                    f"protocol={flag_names(protocol, PROTOCOL_FLAGS)}")
            rest = data[12:]
            while len(rest) >= 4:  # the milter's macro lists: stage, then names
                stage = struct.unpack("!I", rest[:4])[0]
                names_end = rest.find(b"\0", 4)
                names_end = len(rest) if names_end < 0 else names_end
                label = MACRO_STAGES[stage] if stage < len(MACRO_STAGES) else stage
                text += f" macros[{label}]={rest[4:names_end].decode(errors='replace')!r}"
                rest = rest[names_end + 1:]
            return f"{direction} {name} {text}"
        if direction == "mta>" and command == b"D":
            parts = data[1:].split(b"\0")
            text = [p.decode(errors="replace") for p in parts]
            pairs = [f"{text[i]}={text[i + 1]!r}" for i in range(0, len(text) - 1, 2)]
            return f"{direction} MACRO for {data[:1].decode(errors='replace')}: " + " ".join(pairs)
        if command in (b"i", b"m"):
            index = struct.unpack("!I", data[:4])[0]
            return f"{direction} {name} index={index} {data[4:]!r}"
        if command == b"B":
            return f"{direction} {name} {len(data)} bytes, from {data[:48]!r}"
        if data:
            return f"{direction} {name} {data!r}"
        return f"{direction} {name}"
    except (struct.error, IndexError):
        return f"{direction} {name} undecoded {data.hex()}"


class MilterTap:
    """Listens on tap.spec; each connection is relayed to 127.0.0.1:milter_port and its
    packets written to transcript_path, one line each, prefixed with a session number."""

    def __init__(self, milter_port, transcript_path, port=None):
        self.milter_port = milter_port
        self.port = port or free_port()
        self.spec = f"inet:127.0.0.1:{self.port}"
        self.transcript = open(transcript_path, "a", buffering=1)
        self.lock = threading.Lock()
        self.sessions = 0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(16)
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def write(self, line):
        with self.lock:
            self.transcript.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    def _accept(self):
        while not self.stopping:
            try:
                mta, _ = self.listener.accept()
            except OSError:
                return
            self.sessions += 1
            session = self.sessions
            try:
                milter = socket.create_connection(("127.0.0.1", self.milter_port), timeout=30)
            except OSError as exc:
                self.write(f"#{session} cannot reach the milter: {exc}")
                mta.close()
                continue
            for source, sink, direction in ((mta, milter, "mta>"), (milter, mta, "<mil")):
                threading.Thread(target=self._pump, args=(session, source, sink, direction),
                                 daemon=True).start()

    def _pump(self, session, source, sink, direction):
        buffer = b""
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                sink.sendall(chunk)
                buffer += chunk
                while len(buffer) >= 4:
                    length = struct.unpack("!I", buffer[:4])[0]
                    if length == 0 or length > MAX_PACKET_BYTES:
                        self.write(f"#{session} {direction} bad length {length}")
                        return
                    if len(buffer) < 4 + length:
                        break
                    packet = buffer[4:4 + length]
                    buffer = buffer[4 + length:]
                    self.write(f"#{session} " + describe(direction, packet[:1], packet[1:]))
        except OSError:
            pass
        finally:
            self.write(f"#{session} {direction} closed")
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.stopping = True
        self.listener.close()
        self.transcript.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit("usage: milter_tap.py MILTER_PORT LISTEN_PORT TRANSCRIPT")
    tap = MilterTap(int(sys.argv[1]), sys.argv[3], port=int(sys.argv[2]))
    print(f"relaying {tap.spec} -> 127.0.0.1:{sys.argv[1]}", flush=True)
    threading.Event().wait()
