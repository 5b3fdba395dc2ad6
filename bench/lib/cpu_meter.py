"""CPU time of the processes under measurement, read from /proc, for bench/smtp-inbound: the
MTA's processes (a master's session, with the children each has reaped) and a milter's (its
session, or one long-lived process such as postern-authmilter, which runs in Postern's master
session). Read before and after a run; nothing here is hostile or unbounded (one pass over
/proc per reading)."""
import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def session_cpu_seconds(session_id):
    """CPU seconds (user + system) of every live process of session session_id (or of each
    session in a list), with the children each has reaped (a master reaps its daemons, so
    daemons that came and went count)."""
    sessions = set(session_id) if isinstance(session_id, (list, tuple)) else {session_id}
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields[0] is field 3 (state): session is field 6, utime..cstime fields 14..17
        if int(fields[3]) in sessions:
            total += sum(int(x) for x in fields[11:15])
    return total / CLOCK_TICKS


def process_cpu_seconds(pid):
    """CPU seconds (user + system) of one process, its threads included."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(x) for x in fields[11:13]) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds used by the sessions named (label -> session id, or ("pid", PID) for one
    process) between start() and stop(). nested = (inner, outer): inner's processes are also
    in outer's session (authmilter in Postern's master session); stop() takes inner's seconds
    out of outer's, so that each label counts its own."""

    def __init__(self, sessions, nested=None):
        self.sessions = {label: sid for label, sid in sessions.items() if sid}
        self.nested = nested
        self.before = {}
        self.used = {}

    def start(self):
        self.before = {label: self.read(sid) for label, sid in self.sessions.items()}

    @staticmethod
    def read(sid):
        if isinstance(sid, tuple) and sid[0] == "pid":
            return process_cpu_seconds(sid[1])
        return session_cpu_seconds(sid)

    def stop(self):
        self.used = {label: self.read(sid) - self.before[label]
                     for label, sid in self.sessions.items()}
        if self.nested and all(label in self.used for label in self.nested):
            inner, outer = self.nested
            self.used[outer] -= self.used[inner]
        return self.used
