#!/usr/bin/env python3
"""A runner for Dovecot imaptest's scripted tests (the `tests/` folder of imaptest's main branch,
kept in ../shared/testdata/imaptest-tests/), written from the format's documentation
(FORMAT-scripted_test.md) and from how imaptest's own test parser and executor behave.
The imaptest program itself is not used.

Which process: a test-side client (CTest via tests/peer/test_imaptest_scripts.py, or by hand).
What it trusts: the script files (data from the test-data folder; a malformed script is
reported as an error of that script, not run), nothing the server sends: every server line is
parsed with bounds (line length, literal size, nesting) and a wrong reply fails the script.
Limits: kMaxLine bytes of line, kMaxLiteral bytes of literal, kMaxDepth nested lists, a timeout
on every wait for the server (--timeout seconds, 30 as in imaptest), 100 connections a script.

Semantics kept from imaptest (main branch):
  - header (capabilities, connections, messages, state, ignore_extra_untagged, user N), a
    blank line, then command groups: "[conn] ok|no|bad|\"\" cmd" (method 1), "[conn] cmd" then
    "[conn] ok [prefix]" (method 2), "[conn] tagN cmd" ... "[conn] tagN ok" (method 3,
    pipelined), with "* " (must exist), "! " (must not exist) and "? " (may exist) untagged
    replies in any order; !ifenv/!ifnenv/!else/!endif, !sleep, !output; {{{ }}} literals
    (and ~{{{ }}} literal8).
  - startup states: nonauth, auth (all mailboxes matching "$mailbox*" deleted and
    unsubscribed), created, appended (the messages of NAME.mbox or default.mbox, wrapping),
    selected (every connection SELECTs the test mailbox). The test mailbox is "imaptest".
  - matching: IMAP arguments compared case-insensitively ($ variables captured on first
    sight and compared case-sensitively after, ${case:..} case-sensitive, $ alone a wildcard
    that also skips a list, $] skipping to the end of a resp-text-code, $N relative message
    sequence numbers kept up to date through the group's EXPUNGEs, $modseqN ordering),
    lists ordered by default, $!unordered[=n] / $!noextra / $!extra / $!ignore= / $!ban= and the
    default directives (FETCH ($!unordered=2), FETCH FLAGS ($!unordered $!noextra
    $!ignore=\\recent ...), LIST/LSUB flags ($!unordered), STATUS ($!unordered=2)); OK/NO/BAD/
    BYE and tagged replies matched as prefixes; untagged replies read only from the
    connection whose group runs (the others' input waits, as imaptest stops reading them).
  - a test is skipped when the server lacks a capability of its header; an automatic LOGOUT
    on the first connection ends a script that has none.

Usage:
    imaptest_runner.py --host 127.0.0.1 --port 993 --tls --user demo@example.test \\
        --password secret [--tests DIR] [names...]
Exit status: 0 when no script failed, 1 otherwise.
"""
import argparse
import json
import os
import re
import select
import socket
import ssl
import subprocess
import sys
import time
import calendar

DEFAULT_TESTS_DIR = os.path.join(
    os.environ.get("POSTERN_SHARED_TESTDATA") or os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "testdata")),
    "imaptest-tests", "tests")
TEST_MAILBOX = "imaptest"
kMaxLine = 16 * 1024 * 1024
kMaxLiteral = 64 * 1024 * 1024
kMaxDepth = 100
kMaxConnections = 100
FULL = 1 << 32            # "everything matched" (imaptest's UINT_MAX)

_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}


def up(s):
    """ASCII-only upper case, as imaptest's i_toupper (bytes kept as latin-1 characters)."""
    return s.translate(_UPPER)


def ieq(a, b):
    return up(a) == up(b)


class ScriptError(Exception):
    """A script that imaptest's parser would refuse."""


class TestFailure(Exception):
    """A failure that stops the current script (timeout, disconnection)."""


# ---- IMAP arguments -----------------------------------------------------------------------
class Atom(str):
    kind = "atom"


class QStr(str):
    kind = "string"


class Lit(str):
    kind = "literal"


class Nil:
    kind = "nil"

    def __repr__(self):
        return "NIL"


NIL = Nil()


class ImapList(list):
    kind = "list"


class _Eol:
    kind = "eol"


EOL = _Eol()


def is_astring(arg):
    return isinstance(arg, (Atom, QStr, Lit))


def arg_at(args, i):
    return args[i] if 0 <= i < len(args) else EOL


def args_to_str(args):
    out = []
    for a in args:
        if isinstance(a, ImapList):
            out.append("(" + args_to_str(a) + ")")
        elif a is NIL:
            out.append("NIL")
        elif isinstance(a, QStr):
            out.append('"' + a.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif isinstance(a, Lit):
            out.append("{%d}%s" % (len(a), a if len(a) < 200 else a[:200] + "..."))
        else:
            out.append(str(a))
    return " ".join(out)


class ParseError(Exception):
    pass


def parse_args(data, script=False):
    """Parses one logical line (literals inline as {N}CRLF<data>) the way Dovecot's
    imap-parser does with ATOM_ALLCHARS: atoms run to a space or line end, ')' ends an atom
    only inside a list, NIL (any case) is NIL, quoted strings lose their backslashes.
    Literals from a script are Lit, from a server QStr-like Lit as well (both are astrings)."""
    root = ImapList()
    stack = [root]
    pos, n = 0, len(data)
    while True:
        while pos < n and data[pos] == " ":
            pos += 1
        if pos >= n or data[pos] in "\r\n":
            if len(stack) > 1:
                raise ParseError("Missing ')'")
            return root
        c = data[pos]
        cur = stack[-1]
        if c == '"':
            pos += 1
            buf = []
            while True:
                if pos >= n:
                    raise ParseError("Missing '\"'")
                ch = data[pos]
                if ch == '"':
                    pos += 1
                    break
                if ch == "\\" and pos + 1 < n:
                    buf.append(data[pos + 1])
                    pos += 2
                    continue
                if ch in "\r\n" and not script:
                    raise ParseError("Missing '\"'")
                buf.append(ch)
                pos += 1
            cur.append(QStr("".join(buf)))
        elif c == "{" or (c == "~" and pos + 1 < n and data[pos + 1] == "{"):
            pos += 2 if c == "~" else 1
            m = re.compile(r"(\d+)(\+?)\}").match(data, pos)
            if not m:
                raise ParseError("Invalid literal size")
            size = int(m.group(1))
            if size > kMaxLiteral:
                raise ParseError("Literal size too large")
            pos = m.end()
            if data.startswith("\r\n", pos):
                pos += 2
            elif data.startswith("\n", pos):
                pos += 1
            else:
                raise ParseError("Missing LF after literal size")
            if pos + size > n:
                raise ParseError("Missing data")
            cur.append(Lit(data[pos:pos + size]))
            pos += size
        elif c == "(":
            if len(stack) >= kMaxDepth:
                raise ParseError("Too deep nesting")
            new = ImapList()
            cur.append(new)
            stack.append(new)
            pos += 1
        elif c == ")":
            if len(stack) == 1:
                raise ParseError("Unexpected ')'")
            stack.pop()
            pos += 1
        else:
            start = pos
            while pos < n:
                ch = data[pos]
                if ch in " \r\n":
                    break
                if ch == ")" and len(stack) > 1:
                    break
                pos += 1
            word = data[start:pos]
            cur.append(NIL if up(word) == "NIL" else Atom(word))


def parse_server_args(text):
    """Server lines: imaptest parses them the same way. Human-readable text after OK/NO/BAD/
    BYE that is not valid IMAP (an unbalanced parenthesis or quote) is kept as plain atoms
    instead of failing the script over prose."""
    try:
        return parse_args(text)
    except ParseError:
        words = text.rstrip("\r\n").split(" ")
        if words and up(words[0]) in ("OK", "NO", "BAD", "BYE", "PREAUTH"):
            return ImapList(Atom(w) for w in words if w)
        if len(words) > 1 and up(words[1]) in ("OK", "NO", "BAD", "BYE"):
            return ImapList(Atom(w) for w in words if w)
        raise


def quote_astring(s):
    if s and not any(ch in s for ch in "\r\n\0") and all(ord(ch) < 128 for ch in s):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raw = s.encode("utf-8") if any(ord(ch) > 255 for ch in s) else s.encode("latin-1")
    return "{%d}\r\n" % len(raw) + raw.decode("latin-1")


# ---- the script format --------------------------------------------------------------------
MUST, MUST_NOT, MAY = "*", "!", "?"
STATES = ("nonauth", "auth", "created", "appended", "selected")


class Command:
    def __init__(self, linenum, tag, command, reply):
        self.linenum = linenum
        self.tag = tag            # 0: not pipelined
        self.command = command    # text, variables unexpanded
        self.reply = reply        # parsed expected tagged reply or None (pending)
        self.cur_tag = None       # the tag sent, while waiting


class Group:
    def __init__(self):
        self.conn = 0
        self.commands = []
        self.untagged = []        # (existence, args, text)
        self.replies_pending = 0
        self.have_bye = False
        self.sleep_ms = 0
        self.outputs = []


class Test:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.capabilities = []
        self.connections = 1
        self.messages = 0
        self.state = "selected"
        self.ignore_extra_untagged = True
        self.require_user2 = False
        self.users = {}
        self.groups = []
        self.have_banner_check = False
        mbox = path + ".mbox"
        self.mbox = mbox if os.path.exists(mbox) else os.path.join(
            os.path.dirname(path), "default.mbox")


_REPLY_OK = ImapList([Atom("ok")])
_REPLY_NO = ImapList([Atom("no")])
_REPLY_BAD = ImapList([Atom("bad")])
_REPLY_ANY = ImapList([Atom("")])


def _parse_header(test, line):
    if ":" not in line:
        raise ScriptError("Missing ':'")
    key, value = line.split(":", 1)
    key = key.rstrip(" ").lower()
    value = value.lstrip(" ")
    if key == "capabilities":
        test.capabilities = value.split()
    elif key == "connections":
        count = 2 if value == "n" else int(re.match(r"\d*", value).group(0) or 0)
        if count == 0 or count > kMaxConnections:
            raise ScriptError("Too many connections")
        test.connections = count
    elif key == "ignore_extra_untagged":
        test.ignore_extra_untagged = value.startswith("y")
    elif key.startswith("user ") and key[5:].isdigit() and int(key[5:]) > 0:
        if value in ("$user2", "${user2}"):
            test.require_user2 = True
        test.users[int(key[5:])] = value
    elif key == "messages":
        test.messages = FULL if value == "all" else int(re.match(r"\d*", value).group(0) or 0)
    elif key == "state":
        if value.lower() not in STATES:
            raise ScriptError("Unknown state value")
        test.state = value.lower()
    else:
        raise ScriptError("Unknown setting")


def _get_cmd_reply(line):
    """imaptest's test_get_cmd_reply: optional "tagN " then ok/no/bad/"". Returns
    (reply or None, tag, rest)."""
    tag = 0
    first = line.split(" ", 1)[0]
    if up(first[:3]) == "TAG" and " " in line and first[3:].isdigit() and int(first[3:]) > 0:
        tag = int(first[3:])
        line = line.split(" ", 1)[1]
        first = line.split(" ", 1)[0]
    reply = None
    low = first.lower()
    if low == "ok":
        reply, line = _REPLY_OK, line[2:]
    elif low == "no":
        reply, line = _REPLY_NO, line[2:]
    elif low == "bad":
        reply, line = _REPLY_BAD, line[3:]
    elif first == '""':
        reply, line = _REPLY_ANY, line[2:]
    if reply is not None and line.startswith(" "):
        line = line[1:]
    return reply, tag, line


def _leading_uint(line):
    first = line.split(" ", 1)[0]
    return int(first) if first.isdigit() else None


class _DirCtx:
    def __init__(self, parent, reply_name, prev_atom, parent_chain_idx):
        self.parent = parent
        self.reply_name = reply_name
        self.prev_atom = prev_atom
        self.parent_chain_idx = parent_chain_idx
        self.chain_count = 1
        self.directives = False


def _parse_directives(ctx, args):
    for a in args:
        if not isinstance(a, Atom) or not a.startswith("$!"):
            break
        d = a[2:]
        if d.startswith("unordered"):
            if d == "unordered":
                pass
            elif d[9:10] == "=" and d[10:].isdigit():
                ctx.chain_count = int(d[10:])
            else:
                raise ScriptError("Broken $!unordered directive")
        elif d in ("ordered", "noextra", "extra") or d.startswith("ignore=") or \
                d.startswith("ban="):
            pass
        else:
            raise ScriptError("Unknown directive: " + d)
        ctx.directives = True


def _add_default_directives(ctx, args):
    if ctx.parent is None:
        return
    name = ctx.reply_name
    par = ctx.parent
    if name in ("list", "lsub"):
        if par.parent is None and par.parent_chain_idx == 0 and ctx.parent_chain_idx == 1:
            args.insert(0, Atom("$!unordered"))
    elif name == "status":
        if par.parent is None and par.parent_chain_idx == 0 and ctx.parent_chain_idx == 2:
            args.insert(0, Atom("$!unordered=2"))
    elif name == "fetch":
        if par.parent is None and par.parent_chain_idx == 0 and ctx.parent_chain_idx == 2:
            args.insert(0, Atom("$!unordered=2"))
        elif par.parent is not None and par.parent.parent is None and \
                par.parent.parent_chain_idx == 0 and par.parent_chain_idx == 2 and \
                ctx.prev_atom == "flags":
            for d in ("$!unordered", "$!noextra", "$!ignore=\\recent",
                      "$!ignore=$HasAttachment", "$!ignore=$HasNoAttachment"):
                args.insert(0, Atom(d))


def _handle_directives(ctx, args):
    _parse_directives(ctx, args)
    if not ctx.directives:
        _add_default_directives(ctx, args)
    ndir = 0
    for a in args:
        if isinstance(a, Atom) and a.startswith("$!"):
            ndir += 1
        else:
            break
    if (len(args) - ndir) % max(ctx.chain_count, 1) != 0:
        raise ScriptError("Invalid list argument count, chain size=%d" % ctx.chain_count)
    prev_atom = None
    for i, a in enumerate(args):
        if isinstance(a, Atom):
            prev_atom = a.lower()
        if not isinstance(a, ImapList):
            continue
        sub = _DirCtx(ctx, ctx.reply_name.lower(), prev_atom,
                      i if ctx.chain_count == 1 else i % ctx.chain_count)
        _handle_directives(sub, a)


def _parse_untagged(test, group, text, existence):
    try:
        args = parse_args(text, script=True)
    except ParseError as exc:
        raise ScriptError(str(exc))
    name = ""
    if args and isinstance(args[0], Atom):
        name = args[0]
        if name[:1] == "$" or name[:1].isdigit():
            name = args[1] if len(args) > 1 and isinstance(args[1], Atom) else ""
    ctx = _DirCtx(None, name, None, 0)
    _handle_directives(ctx, args)
    if up(name[:3]) == "BYE":
        if existence == MUST:
            group.have_bye = True
        elif existence == MAY:
            raise ScriptError("? BYE not currently supported")
    group.untagged.append((existence, args, text))


def _untagged_kind(line):
    if line.startswith("* "):
        return MUST
    if line.startswith("! "):
        return MUST_NOT
    if line.startswith("? "):
        return MAY
    return None


def parse_script(path):
    """Reads one script the way imaptest's test-parser.c does. Raises ScriptError."""
    test = Test(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw and not raw.endswith(b"\n"):
        raise ScriptError("Last line doesn't end with LF")
    lines = raw.split(b"\n")[:-1]
    header = True
    continues = False
    multiline = ""
    start_pos = last_line_end = 0
    binary = False
    start_linenum = 0
    skip = False
    ifenv_stack = []
    state = {"group": None}

    def command_line(linenum, line):
        nonlocal skip
        group = state["group"]
        for prefix in ("!ifenv ", "!ifnenv "):
            if line.startswith(prefix):
                env = line[len(prefix):]
                missing = os.environ.get(env) is None
                if prefix == "!ifnenv ":
                    missing = not missing
                ifenv_stack.append([linenum, False, skip])
                if missing:
                    skip = True
                return
        if line == "!else":
            if not ifenv_stack:
                raise ScriptError("!else without !ifenv")
            if ifenv_stack[-1][1]:
                raise ScriptError("!else already seen")
            ifenv_stack[-1][1] = True
            if not ifenv_stack[-1][2]:
                skip = not skip
            return
        if line == "!endif":
            if not ifenv_stack:
                raise ScriptError("!endif without !ifenv")
            skip = ifenv_stack.pop()[2]
            return
        if skip:
            return
        if group is not None:
            if line.startswith("!sleep "):
                m = re.fullmatch(r"\s*(\d+)\s*(ms|msecs?|s|secs?)?\s*", line[7:])
                if not m:
                    raise ScriptError("Invalid !sleep value")
                group.sleep_ms = int(m.group(1)) * (1 if (m.group(2) or "s").startswith("m")
                                                    else 1000)
                return
            if line.startswith("!output "):
                group.outputs.append(line[8:])
                return
            kind = _untagged_kind(line)
            if kind:
                _parse_untagged(test, group, line[2:], kind)
                return
            if group.replies_pending > 0:
                rest = line
                conn = 0
                if test.connections > 1:
                    num = _leading_uint(rest)
                    if num:
                        conn = num
                        rest = rest.split(" ", 1)[1] if " " in rest else ""
                reply, tag, _ = _get_cmd_reply(rest)
                if reply is not None:
                    if test.connections > 1:
                        if conn == 0:
                            raise ScriptError("Missing client index")
                        if conn - 1 != group.conn:
                            raise ScriptError("Reply for wrong connection")
                    cmd = next((c for c in group.commands if c.tag == tag), None)
                    if cmd is None:
                        raise ScriptError("Reply for unknown tag")
                    if cmd.reply is not None:
                        raise ScriptError("Command already has a reply")
                    try:
                        args = parse_args(rest, script=True)
                    except ParseError as exc:
                        raise ScriptError(str(exc))
                    cmd.reply = ImapList(args[1:] if tag else args)
                    group.replies_pending -= 1
                    return
        if group is None or group.replies_pending == 0:
            group = Group()
            state["group"] = group
            test.groups.append(group)
        if test.connections > 1:
            num = _leading_uint(line)
            if not num:
                raise ScriptError("Missing client index")
            if num > kMaxConnections:
                raise ScriptError("Too many connections")
            if group.commands and group.conn != num - 1:
                raise ScriptError("All pipelined commands must use the same connection")
            group.conn = num - 1
            test.connections = max(test.connections, num)
            line = line.split(" ", 1)[1] if " " in line else ""
        reply, tag, rest = _get_cmd_reply(line)
        if tag == 0:
            if group.replies_pending > 0:
                raise ScriptError("Missing reply from previous command group")
        elif any(c.tag == tag for c in group.commands):
            raise ScriptError("Tag reused within command group")
        kind = _untagged_kind(rest)
        if not group.commands and kind:
            test.have_banner_check = True
            _parse_untagged(test, group, rest[2:], kind)
            return
        if reply is None:
            group.replies_pending += 1
        group.commands.append(Command(linenum, tag, rest, reply))

    for idx, rawline in enumerate(lines):
        linenum = idx + 1
        line = rawline.decode("latin-1")
        if continues:
            if not line.startswith("}}}"):
                multiline += line
                last_line_end = len(multiline)
                # imaptest keeps a CR that ends the file's line as data, and a binary
                # literal's lines end with LF alone (its "line_crlf" check never sees CRLF)
                multiline += "\n" if binary else "\r\n"
                continue
            multiline = multiline[:last_line_end]
            line = line[3:]
            size = len(multiline) - start_pos
            multiline = multiline[:start_pos] + ("~" if binary else "") + \
                "{%d}\r\n" % size + multiline[start_pos:]
            if line.endswith("{{{"):
                cut = len(line) - 3
                binary = cut > 0 and line[cut - 1] == "~"
                if binary:
                    cut -= 1
                multiline += line[:cut]
                start_pos = last_line_end = len(multiline)
                continue
            line = multiline + line
            continues = False
        else:
            start_linenum = linenum
            if line == "":
                header = False
                continue
            if line.startswith("#"):
                continue
            if line.endswith("{{{"):
                cut = len(line) - 3
                binary = cut > 0 and line[cut - 1] == "~"
                if binary:
                    cut -= 1
                multiline = line[:cut]
                start_pos = last_line_end = len(multiline)
                continues = True
                continue
        try:
            if header:
                _parse_header(test, line)
            else:
                command_line(start_linenum, line)
        except ScriptError as exc:
            raise ScriptError("%s line %d: %s" % (test.name, linenum, exc))
    if continues:
        raise ScriptError("%s: Multiline reply at line %d not ended" % (test.name, start_linenum))
    if not test.groups:
        raise ScriptError("%s: No commands in file" % test.name)
    if test.groups[-1].replies_pending > 0:
        raise ScriptError("%s: Missing reply from previous command" % test.name)
    if ifenv_stack:
        raise ScriptError("%s: !ifenv at line %d not closed" % (test.name, ifenv_stack[0][0]))
    has_logout = any(g.have_bye or any(c.command.lower() == "logout" for c in g.commands)
                     for g in test.groups)
    if not has_logout:
        g = Group()
        g.conn = 0
        g.commands.append(Command(0, 0, "logout", _REPLY_OK))
        test.groups.append(g)
    return test


def list_scripts(folder):
    """Every non-dot, non-.mbox regular file, sorted (imaptest skips directories)."""
    names = []
    for name in sorted(os.listdir(folder)):
        if name.startswith(".") or name.endswith(".mbox"):
            continue
        if os.path.isfile(os.path.join(folder, name)):
            names.append(name)
    return names


# ---- the mbox message source ---------------------------------------------------------------
_FROM_RE = re.compile(r"^From (\S+)\s+(?:\w{3}\s+)?(\w{3})\s+(\d{1,2})\s+(\d{1,2}):(\d\d)(?::(\d\d))?"
                      r"\s+(?:([A-Z]{3,4})\s+)?(\d{4})(?:\s+([+-]\d{4}))?")
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def _parse_from_line(line):
    m = _FROM_RE.match(line)
    if not m or m.group(2).lower() not in _MONTHS:
        return None
    month = _MONTHS.index(m.group(2).lower()) + 1
    tm = (int(m.group(8)), month, int(m.group(3)), int(m.group(4)), int(m.group(5)),
          int(m.group(6) or 0))
    tz = m.group(9)
    offset = 0
    if tz:
        offset = (int(tz[1:3]) * 60 + int(tz[3:5])) * (-1 if tz[0] == "-" else 1)
    return tm, offset


def _imap_datetime(tm, offset):
    sign = "-" if offset < 0 else "+"
    off = abs(offset)
    return '%02d-%s-%04d %02d:%02d:%02d %s%02d%02d' % (
        tm[2], _MONTHS[tm[1] - 1].capitalize(), tm[0], tm[3], tm[4], tm[5], sign,
        off // 60, off % 60)


class MboxSource:
    """Messages of an mbox, split on valid "From " lines, LF turned into CRLF, served in a
    loop (imaptest wraps to the first message when the file ends)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read().decode("latin-1")
        self.messages = []
        cur = None
        for line in data.split("\n")[:-1] if data.endswith("\n") else data.split("\n"):
            parsed = _parse_from_line(line) if line.startswith("From ") else None
            if parsed is not None and (cur is None or cur[1]):
                if cur is not None:
                    self.messages.append(cur)
                cur = [parsed, []]
                continue
            if cur is None:
                raise ScriptError("Not a valid mbox file: %s" % path)
            cur[1].append(line.rstrip("\r"))
        if cur is not None:
            if not cur[1]:
                raise ScriptError("mbox file ends with From-line: %s" % path)
            self.messages.append(cur)
        if not self.messages:
            raise ScriptError("Empty mbox file: %s" % path)
        self.next = 0

    def eof(self):
        return self.next >= len(self.messages)

    def get_next(self):
        if self.next >= len(self.messages):
            self.next = 0
        (tm, offset), lines = self.messages[self.next]
        self.next += 1
        body = "".join(line + "\r\n" for line in lines)
        return body, _imap_datetime(tm, offset)


# ---- the connection ------------------------------------------------------------------------
class Connection:
    def __init__(self, runner, index, global_id):
        self.runner = runner
        self.index = index
        self.global_id = global_id
        self.tag_counter = 1
        self.sock = None
        self.buf = b""
        self.caps = []
        self.banner = None
        self.banner_caps = False
        self.postlogin_caps = False
        self.exists = 0
        self.storage = TEST_MAILBOX
        self.seen_bye = False
        self.closed = False
        self.logout_sent = False

    def connect(self):
        cfg = self.runner.config
        raw = socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout)
        if cfg.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            raw = ctx.wrap_socket(raw, server_hostname=cfg.host)
        raw.settimeout(None)
        self.sock = raw

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
        self.closed = True

    def send(self, text):
        data = text.encode("latin-1")
        if self.runner.config.trace:
            sys.stderr.write("C%d> %s" % (self.index + 1, text if len(text) < 2000
                                          else text[:2000] + "...\n"))
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise TestFailure("send failed on connection %d: %s" % (self.index + 1, exc))

    def _fill(self, deadline):
        if self.sock is None:
            raise EOFError()
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            chunk = self.sock.recv(65536)
        else:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("Timeout while waiting for server response "
                                  "(connection %d)" % (self.index + 1))
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                raise TestFailure("Timeout while waiting for server response "
                                  "(connection %d)" % (self.index + 1))
            try:
                chunk = self.sock.recv(65536)
            except ssl.SSLWantReadError:
                return
            except OSError:
                chunk = b""
        if not chunk:
            raise EOFError()
        self.buf += chunk
        if len(self.buf) > kMaxLine + kMaxLiteral:
            raise TestFailure("server response too long")

    def read_response(self, timeout):
        """One whole response (literals inline) as latin-1 text without the final CRLF."""
        deadline = time.monotonic() + timeout
        pos = 0
        while True:
            nl = self.buf.find(b"\n", pos)
            if nl < 0:
                if len(self.buf) - pos > kMaxLine:
                    raise TestFailure("server line too long")
                self._fill(deadline)
                continue
            line_end = nl + 1
            m = re.search(rb"~?\{(\d+)\+?\}\r?\n$", self.buf[pos:line_end])
            if m:
                size = int(m.group(1))
                if size > kMaxLiteral:
                    raise TestFailure("server literal too large")
                while len(self.buf) < line_end + size:
                    self._fill(deadline)
                pos = line_end + size
                continue
            text = self.buf[:line_end].decode("latin-1")
            self.buf = self.buf[line_end:]
            if self.runner.config.trace:
                sys.stderr.write("S%d< %s" % (self.index + 1, text if len(text) < 2000
                                              else text[:2000] + "...\n"))
            if text.endswith("\r\n"):
                return text[:-2]
            return text[:-1]

    def next_tag(self):
        tag = "%d.%d" % (self.global_id, self.tag_counter)
        self.tag_counter += 1
        return tag

    def track_untagged(self, args):
        """The state imaptest keeps per client: message count, capabilities, BYE."""
        if not args:
            return
        a0 = args[0]
        if isinstance(a0, Atom) and len(args) > 1 and isinstance(args[1], Atom):
            word = up(args[1])
            if a0.isdigit() and word == "EXISTS":
                self.exists = int(a0)
            elif a0.isdigit() and word == "EXPUNGE":
                self.exists = max(0, self.exists - 1)
        if isinstance(a0, Atom) and up(a0) == "CAPABILITY":
            self.caps = [str(a) for a in args[1:] if is_astring(a)]
        if isinstance(a0, Atom) and up(a0) in ("OK", "PREAUTH", "BYE") and len(args) > 1:
            caps = resp_code_capabilities(args[1:])
            if caps is not None:
                self.caps = caps
        if isinstance(a0, Atom) and up(a0) == "BYE":
            self.seen_bye = True

    def has_capability(self, cap):
        return any(ieq(cap, c) for c in self.caps)


def resp_code_capabilities(args):
    if not args or not isinstance(args[0], Atom) or up(args[0]) != "[CAPABILITY":
        return None
    caps = []
    for a in args[1:]:
        if not isinstance(a, Atom):
            break
        if a.endswith("]"):
            if a[:-1]:
                caps.append(a[:-1])
            break
        caps.append(str(a))
    return caps


# ---- execution -----------------------------------------------------------------------------
class Config:
    def __init__(self, host="127.0.0.1", port=143, tls=False, user="", password="",
                 user2=None, password2=None, timeout=30.0, trace=False):
        self.host = host
        self.port = port
        self.tls = tls
        self.user = user
        self.password = password
        self.user2 = user2
        self.password2 = password2
        self.timeout = timeout
        self.trace = trace


class Result:
    def __init__(self, name, status, failures=None, groups=0, failed_groups=0, seconds=0.0):
        self.name = name
        self.status = status        # "passed", "failed", "skipped", "error"
        self.failures = failures or []
        self.groups = groups
        self.failed_groups = failed_groups
        self.seconds = seconds

    def as_dict(self):
        return {"name": self.name, "status": self.status, "failures": self.failures,
                "groups": self.groups, "failed_groups": self.failed_groups,
                "seconds": round(self.seconds, 3)}


class _Skip(Exception):
    pass


class Execution:
    """One script against the server."""

    global_ids = [0]

    def __init__(self, runner, test):
        self.runner = runner
        self.config = runner.config
        self.test = test
        self.variables = {}
        self.added = []
        self.failures = []
        self.failed_group_set = set()
        self.cur_group = 0
        self.seqmap = []
        self.hi_modseq_idx = 0
        self.hi_modseq_value = 0
        self.source = MboxSource(test.mbox)
        self.conns = []
        self.init_finished = False

    # -- failures
    def fail(self, msg):
        if not self.init_finished:
            self.failures.append("initialization failed: %s" % msg)
        else:
            g = self.test.groups[self.cur_group]
            first = g.commands[0] if g.commands else None
            where = "command %d/%d (line %d): %s" % (
                self.cur_group + 1, len(self.test.groups), first.linenum if first else 0,
                first.command[:300] if first else "(banner)")
            self.failures.append("%s\n - failed: %s" % (where, msg))
            self.failed_group_set.add(self.cur_group)

    # -- variables
    def relative_seq(self, seq):
        if seq == 0:
            return "<zero seq>"
        if seq > len(self.seqmap):
            return "<out of range>"
        if self.seqmap[seq - 1] == 0:
            return "<expunged>"
        return str(self.seqmap[seq - 1])

    def expand_all(self, line, skip_uninitialized=False):
        if "$" not in line:
            return line
        out = []
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if c != "$" or i == n - 1:
                out.append(c)
                i += 1
                continue
            i += 1
            c = line[i]
            if c == "$":
                out.append("$")
                i += 1
            elif c == "!":
                while i + 1 < n and line[i + 1] != " ":
                    i += 1
                i += 1
            else:
                if c == "{":
                    end = line.find("}", i + 1)
                    if end < 0:
                        raise TestFailure("Missing '}'")
                    name = line[i + 1:end]
                    i = end + 1
                else:
                    j = i
                    while j < n and (line[j].isalnum() and ord(line[j]) < 128 or line[j] == "_"):
                        j += 1
                    name = line[i:j]
                    i = j
                if name.isdigit():
                    value = self.relative_seq(int(name))
                else:
                    value = self.variables.get(name)
                    if value is None:
                        if not skip_uninitialized:
                            raise TestFailure("Uninitialized variable: %s" % name)
                        value = "$"
                out.append(value)
        return "".join(out)

    def new_modseq(self, idx, text):
        if not text.isdigit():
            return "$modseq-not-number"
        value = int(text)
        if self.hi_modseq_idx > idx:
            return "$modseq-order-mismatch"
        at_least = self.hi_modseq_value + (idx - self.hi_modseq_idx)
        result = text
        if value < at_least:
            result = "$modseq-at-least-%d" % at_least
            value = at_least
        self.hi_modseq_idx = idx
        self.hi_modseq_value = value
        return result

    def expand_input(self, pattern, inp):
        """imaptest's test_expand_input: expands pattern against the server's string,
        capturing unset variables. Returns (expanded or None, case_insensitive)."""
        icase = True
        out = []
        s, si = pattern, 0
        ii = 0
        ns = len(s)
        while si < ns:
            if s[si] != "$" or s[si + 1:si + 2] == "$":
                if s[si] == "$":
                    si += 1
                if ii >= len(inp) or up(s[si]) != up(inp[ii]):
                    return None, icase
                ii += 1
                out.append(s[si])
                si += 1
                continue
            si += 1
            if si < ns and s[si] == "{":
                end = s.find("}", si + 1)
                if end < 0:
                    return "", icase
                name = s[si + 1:end]
                si = end + 1
            else:
                j = si
                while j < ns and ((s[j].isalnum() and ord(s[j]) < 128) or s[j] == "_"):
                    j += 1
                name = s[si:j]
                si = j
            if name.isdigit() and len(name) < 10:
                value = self.relative_seq(int(name))
            elif name.startswith("case:"):
                value = name[5:]
                icase = False
            else:
                value = self.variables.get(name) if name else None
                if value is None:
                    rest = s[si:]
                    sub_icase = True
                    if rest[:1] == "$":
                        tmp, sub_icase = self.expand_input(rest, inp[ii:])
                        tmp = tmp or ""
                    else:
                        tmp = rest
                    stop = tmp[:1]
                    p = ii
                    if stop:
                        if sub_icase:
                            while p < len(inp) and up(inp[p]) != up(stop):
                                p += 1
                        else:
                            while p < len(inp) and inp[p] != stop:
                                p += 1
                    else:
                        p = len(inp)
                    captured = inp[ii:p]
                    m = re.fullmatch(r"modseq(\d+)", name)
                    if not name:
                        value = captured
                    elif m:
                        value = self.new_modseq(int(m.group(1)), captured)
                        self.variables[name] = value
                    else:
                        value = captured
                        self.variables[name] = value
                        self.added.append(name)
            out.append(value)
            for ch in value:
                if ii >= len(inp) or inp[ii] != ch:
                    return None, icase
                ii += 1
        return "".join(out), icase

    def match_list(self, match, args):
        unordered = False
        chain = 1
        ignores, bans = [], []
        noextra = -1
        mi = 0
        while mi < len(match) and isinstance(match[mi], Atom) and match[mi].startswith("$!"):
            d = match[mi][2:]
            if d.startswith("unordered"):
                unordered = True
                if noextra == -1:
                    noextra = 0
                if d[9:10] == "=":
                    chain = int(re.match(r"\d*", d[10:]).group(0) or 1)
            elif d == "ordered":
                unordered = False
            elif d == "extra":
                noextra = 0
            elif d == "noextra":
                noextra = 1
            elif d.startswith("ignore="):
                ignores.append(d[7:])
            elif d.startswith("ban="):
                bans.append(d[4:])
            mi += 1
        if noextra == -1:
            noextra = 1
        match = match[mi:]
        if not unordered:
            return self.match_args(match, args, FULL, False)
        count = len(args)
        if count % chain != 0:
            return 0
        matched = [False] * count
        ret = 0
        for m0 in range(0, len(match), chain):
            found = False
            for i in range(0, count, chain):
                if self.match_args(match[m0:], args[i:], chain, False) == FULL:
                    matched[i] = True
                    found = True
                    break
            if not found:
                return ret
            ret += 1
        if noextra > 0:
            for i in range(0, count, chain):
                if matched[i] or not is_astring(args[i]):
                    continue
                if not any(ieq(x, args[i]) for x in ignores):
                    return ret
        elif bans:
            for i in range(0, count, chain):
                if matched[i] or not is_astring(args[i]):
                    continue
                if any(ieq(x, args[i]) for x in bans):
                    return ret
        return FULL

    def match_args(self, match, args, maxn, prefix):
        ret = 0
        mi = ai = 0
        while mi < len(match) and maxn > 0:
            m = match[mi]
            a = arg_at(args, ai)
            if m is NIL:
                if a is not NIL:
                    return ret
            elif is_astring(m):
                if m == "$" and isinstance(a, ImapList):
                    pass
                elif m == "$]":
                    while isinstance(a, Atom) and "]" not in a:
                        ai += 1
                        a = arg_at(args, ai)
                else:
                    if not is_astring(a):
                        return ret
                    # imaptest compares C strings: a NUL ends both sides
                    a = a.split("\0", 1)[0]
                    mstr, icase = self.expand_input(m.split("\0", 1)[0], a)
                    if mstr is None:
                        return ret
                    if prefix and mi + 1 == len(match):
                        ok = a[:len(mstr)] == mstr if not icase else \
                            up(a[:len(mstr)]) == up(mstr)
                    else:
                        ok = a == mstr if not icase else up(a) == up(mstr)
                    if not ok:
                        return ret
            elif isinstance(m, ImapList):
                if not isinstance(a, ImapList):
                    return ret
                sub = self.match_list(m, a)
                if sub != FULL:
                    return ret + sub
            mi += 1
            ai += 1
            maxn -= 1
            ret += 1
        if prefix or ai >= len(args) or maxn == 0:
            return FULL
        return ret

    # -- the group's untagged replies
    def handle_untagged(self, conn, args, group, found, best):
        if conn.logout_sent and not group.untagged:
            return
        if not group.untagged:
            if self.test.ignore_extra_untagged:
                return
        prefix = bool(args) and isinstance(args[0], Atom) and \
            up(args[0]) in ("OK", "NO", "BAD", "BYE")
        tag = None
        if group.commands and group.commands[0].cur_tag:
            tag = group.commands[0].cur_tag
        found_some = False
        for i, (existence, expected, _text) in enumerate(group.untagged):
            if found[i]:
                continue
            self.added = []
            if tag is not None:
                self.variables["tag"] = tag
            count = self.match_args(expected, args, FULL, prefix)
            if tag is not None:
                self.variables.pop("tag", None)
            if count == FULL:
                if existence == MUST_NOT:
                    self.fail("Unexpected untagged match:\nMatch: %s\nReply: %s" % (
                        args_to_str(expected), args_to_str(args)))
                    return
                found[i] = True
                found_some = True
                self.added = []
                continue
            if best[i][0] < count:
                best[i] = (count, args_to_str(args))
            for name in self.added:
                self.variables.pop(name, None)
            self.added = []
        if not found_some:
            self.mismatches += 1
            if not self.test.ignore_extra_untagged and self.first_extra is None:
                self.first_extra = args_to_str(args)

    def after_untagged(self, args):
        if len(args) > 1 and isinstance(args[0], Atom) and isinstance(args[1], Atom) and \
                up(args[1]) == "EXPUNGE" and args[0].isdigit():
            seq = int(args[0])
            if seq <= len(self.seqmap):
                for i in range(seq - 1, len(self.seqmap)):
                    if self.seqmap[i] >= seq:
                        if self.seqmap[i] == seq:
                            self.seqmap[i] = 0
                        else:
                            self.seqmap[i] -= 1

    def check_missing(self, group, found, best):
        missing = [i for i, (existence, _a, _t) in enumerate(group.untagged)
                   if existence == MUST and not found[i]]
        if missing:
            first = missing[0]
            expected = group.untagged[first][1]
            unexpanded = args_to_str(expected)
            try:
                expanded = self.expand_all(unexpanded, skip_uninitialized=True)
            except TestFailure:
                expanded = unexpanded
            self.fail("Missing %d untagged replies (%d mismatches)\n - first unexpanded: %s\n"
                      " - first expanded: %s\n - best match: %s" % (
                          len(missing), self.mismatches, unexpanded, expanded, best[first][1]))

    # -- sending
    def cmdline_with_literals(self, conn, cmdline):
        """imaptest turns every literal of a command into LITERAL+ (and needs LITERAL+). Without
        it, we wait for the continuation. Returns the parts to send; between parts, a '+'."""
        parts = []
        cur = []
        i = 0
        literal_plus = conn.has_capability("LITERAL+")
        while True:
            nl = cmdline.find("\n", i)
            if nl < 0:
                cur.append(cmdline[i:])
                break
            seg = cmdline[i:nl + 1]
            m = re.search(r" (~?)\{(\d+)(\+?)\}\r?\n$", seg)
            if not m:
                cur.append(seg)
                i = nl + 1
                continue
            size = int(m.group(2))
            head = seg[:m.start()] + " " + m.group(1) + "{%d%s}\r\n" % (
                size, "+" if literal_plus else "")
            cur.append(head)
            if not literal_plus:
                parts.append("".join(cur))
                cur = []
            i = nl + 1
            cur.append(cmdline[i:i + size])
            i += size
        parts.append("".join(cur))
        return parts

    def send_command(self, conn, text, group=None, found=None, best=None):
        """Sends "tag text", waiting for continuations of synchronising literals. Returns
        the tag."""
        tag = conn.next_tag()
        parts = self.cmdline_with_literals(conn, text)
        conn.send(tag + " " + parts[0] + ("\r\n" if len(parts) == 1 else ""))
        for k, part in enumerate(parts[1:]):
            while True:
                resp = self.read(conn)
                if resp.startswith("+"):
                    break
                self.dispatch_line(conn, resp, group, found, best, waiting={})
            conn.send(part + ("\r\n" if k == len(parts) - 2 else ""))
        return tag

    def append_message(self, conn, args_text, add_datetime):
        body, date = self.source.get_next()
        text = "APPEND " + args_text
        if add_datetime:
            text += ' "%s"' % date
        text += " {%d}\r\n" % len(body) + body
        return text

    def read(self, conn):
        try:
            return conn.read_response(self.config.timeout)
        except EOFError:
            conn.close()
            raise

    # -- init commands (state setup), no matching
    def simple(self, conn, text, ok_no=False):
        """Sends one init command and waits for its tagged reply; returns (status, args,
        untagged list)."""
        tag = self.send_command(conn, text)
        untagged = []
        while True:
            try:
                line = self.read(conn)
            except EOFError:
                raise TestFailure("Unexpected disconnection during %s" % text.split(" ")[0])
            if line.startswith("* "):
                args = parse_server_args(line[2:])
                conn.track_untagged(args)
                untagged.append(args)
                continue
            if line.startswith("+"):
                continue
            rtag, _, rest = line.partition(" ")
            if rtag != tag:
                raise TestFailure("Unexpected tagged reply: %s" % line)
            args = parse_server_args(rest)
            status = up(args[0]) if args and isinstance(args[0], Atom) else ""
            return status, args, untagged

    def setup(self):
        test = self.test
        cfg = self.config
        for i in range(test.connections):
            Execution.global_ids[0] += 1
            conn = Connection(self.runner, i, Execution.global_ids[0])
            self.conns.append(conn)
            conn.connect()
            try:
                line = self.read(conn)
            except EOFError:
                raise TestFailure("disconnected before the banner")
            if not line.startswith("* "):
                raise TestFailure("bad banner: %s" % line)
            args = parse_server_args(line[2:])
            conn.banner = args
            conn.track_untagged(args)
            conn.banner_caps = resp_code_capabilities(args[1:]) is not None
        user = cfg.user
        self.variables["user"] = user
        self.variables["username"] = user.split("@")[0]
        self.variables["domain"] = user.split("@", 1)[1] if "@" in user else cfg.host
        self.variables["password"] = cfg.password
        for i in range(1, test.connections):
            self.variables["user%d" % (i + 1)] = user
            self.variables["username%d" % (i + 1)] = user.split("@")[0]
            self.variables["domain%d" % (i + 1)] = self.variables["domain"]
            self.variables["password%d" % (i + 1)] = cfg.password
        self.variables["mailbox"] = TEST_MAILBOX
        self.variables["mailbox_url"] = TEST_MAILBOX
        if test.require_user2 and not cfg.user2:
            raise _Skip("needs a second user ($user2)")
        first = self.conns[0]
        if test.state == "nonauth":
            if not first.banner_caps:
                status, _a, _u = self.simple(first, "CAPABILITY")
            if not all(first.has_capability(c) for c in test.capabilities):
                raise _Skip("missing capabilities: " + " ".join(
                    c for c in test.capabilities if not first.has_capability(c)))
            return
        for conn in self.conns:
            status, args, _u = self.simple(conn, "LOGIN %s %s" % (
                quote_astring(cfg.user), quote_astring(cfg.password)))
            if status != "OK":
                raise TestFailure("LOGIN failed: %s" % args_to_str(args))
            caps = resp_code_capabilities(args[1:])
            if caps is not None:
                conn.caps = caps
                conn.postlogin_caps = True
        if not first.postlogin_caps:
            status, _a, _u = self.simple(first, "CAPABILITY")
            if status != "OK":
                raise TestFailure("CAPABILITY failed")
        missing = [c for c in test.capabilities if not first.has_capability(c)]
        if missing:
            raise _Skip("missing capabilities: " + " ".join(missing))
        # auth: delete every mailbox matching the test mailbox's name, unsubscribe them
        mask = quote_astring(TEST_MAILBOX + "*")
        to_delete, to_unsub = [], []
        for verb, dest in (("LIST", to_delete), ("LSUB", to_unsub)):
            status, args, untagged = self.simple(first, '%s "" %s' % (verb, mask))
            if status != "OK":
                raise TestFailure("%s failed: %s" % (verb, args_to_str(args)))
            for u in untagged:
                if len(u) >= 4 and isinstance(u[0], Atom) and up(u[0]) == verb and \
                        isinstance(u[1], ImapList) and is_astring(u[3]):
                    dest.append(str(u[3]))
        for verb, names in (("DELETE", to_delete), ("UNSUBSCRIBE", to_unsub)):
            for name in sorted(names, key=up, reverse=True):
                status, args, _u = self.simple(first, "%s %s" % (verb, quote_astring(name)))
                if status == "BAD":
                    raise TestFailure("%s %s failed: %s" % (verb, name, args_to_str(args)))
        if test.state == "auth":
            return
        if up(TEST_MAILBOX) != "INBOX":
            status, args, _u = self.simple(first, "CREATE %s" % quote_astring(TEST_MAILBOX))
            if status != "OK":
                raise TestFailure("CREATE failed: %s" % args_to_str(args))
        if test.state == "created":
            return
        left = test.messages
        while left > 0 and (not self.source.eof() or test.messages != FULL):
            left -= 1
            status, args, _u = self.simple(first, self.append_message(
                first, quote_astring(first.storage), True))
            if status != "OK":
                raise TestFailure("APPEND failed: %s" % args_to_str(args))
        if test.state == "appended":
            return
        for conn in self.conns:
            conn.exists = 0
            status, args, _u = self.simple(conn, "SELECT %s" % quote_astring(TEST_MAILBOX))
            if status != "OK":
                raise TestFailure("SELECT failed: %s" % args_to_str(args))

    # -- groups
    def dispatch_line(self, conn, line, group, found, best, waiting):
        """Handles one server response while a group runs; returns True when a tagged
        reply completed a command."""
        if line.startswith("* "):
            try:
                args = parse_server_args(line[2:])
            except ParseError as exc:
                self.fail("error parsing input: %s: %s" % (exc, line[:200]))
                return False
            conn.track_untagged(args)
            if group is not None:
                self.handle_untagged(conn, args, group, found, best)
            self.after_untagged(args)
            return False
        if line.startswith("+"):
            return False
        rtag, _, rest = line.partition(" ")
        cmd = waiting.get(rtag)
        if cmd is None:
            self.fail("Unexpected tagged reply: %s" % line[:200])
            return False
        try:
            args = parse_server_args(rest)
        except ParseError:
            args = ImapList(Atom(w) for w in rest.split(" ") if w)
        self.variables["tag"] = rtag
        count = self.match_args(cmd.reply, args, FULL, True)
        self.variables.pop("tag", None)
        if count != FULL:
            self.fail("Expected tagged reply '%s', got '%s'" % (
                args_to_str(cmd.reply), args_to_str(args)))
        del waiting[rtag]
        cmd.cur_tag = None
        return True

    def run_group(self, index):
        group = self.test.groups[index]
        conn = self.conns[group.conn]
        self.cur_group = index
        self.first_extra = None
        self.mismatches = 0
        found = [False] * len(group.untagged)
        best = [(0, "")] * len(group.untagged)
        self.seqmap = list(range(1, conn.exists + 1))
        if not group.commands:
            # banner check: the untagged lines are matched against the banner
            if conn.banner is not None:
                self.handle_untagged(conn, conn.banner, group, found, best)
            self.finish_group(group, found, best)
            return
        if conn.closed:
            raise TestFailure("connection %d is already closed" % (group.conn + 1))
        waiting = {}
        for cmd in group.commands:
            text = self.expand_all(cmd.command)
            low = text.lower()
            if low == "append":
                text = self.append_message(conn, quote_astring(conn.storage), True)
            elif low.startswith("append ") and not self.append_has_body(text[7:]):
                text = self.append_message(conn, text[7:], False)
            else:
                if cmd.linenum == 0 or low == "logout" or group.have_bye:
                    conn.logout_sent = True
                verb, _, rest = text.partition(" ")
                if up(verb) in ("SELECT", "EXAMINE") and rest:
                    try:
                        a = parse_args(rest, script=True)
                        if a and is_astring(a[0]):
                            conn.storage = str(a[0])
                    except ParseError:
                        pass
                    conn.exists = 0
                elif up(verb) in ("CLOSE", "UNSELECT"):
                    pass
            cmd.cur_tag = self.send_command(conn, text, group, found, best)
            waiting[cmd.cur_tag] = cmd
        while waiting:
            try:
                line = self.read(conn)
            except EOFError:
                if group.have_bye and conn.seen_bye:
                    for cmd in group.commands:
                        if not (len(cmd.reply) == 1 and cmd.reply[0] == ""):
                            self.fail("Command expected '%s' as tagged reply - only \"\" "
                                      "allowed when BYE happens" % args_to_str(cmd.reply))
                    break
                self.fail("Unexpected disconnection")
                raise TestFailure("Unexpected disconnection")
            self.dispatch_line(conn, line, group, found, best, waiting)
        if conn.logout_sent and conn.seen_bye:
            conn.close()
        self.finish_group(group, found, best)

    def append_has_body(self, args_text):
        try:
            args = parse_args(args_text, script=True)
        except ParseError:
            return False
        if not args:
            return False
        i = 0
        if isinstance(arg_at(args, i + 1), ImapList):
            i += 1
        if isinstance(arg_at(args, i + 1), QStr):
            i += 1
        nxt = arg_at(args, i + 1)
        return isinstance(nxt, Lit) or (isinstance(nxt, Atom) and up(nxt) == "CATENATE")

    def finish_group(self, group, found, best):
        if group.untagged:
            self.check_missing(group, found, best)
        if self.first_extra is not None:
            self.fail("%d unexpected untagged replies received, first: %s" % (
                self.mismatches, self.first_extra))
        for out in group.outputs:
            try:
                print(self.expand_all(out))
            except TestFailure as exc:
                self.fail(str(exc))
        if group.sleep_ms:
            time.sleep(group.sleep_ms / 1000.0)

    def run(self):
        start = time.monotonic()
        test = self.test
        try:
            try:
                self.setup()
            except _Skip as skip:
                for conn in self.conns:
                    try:
                        conn.send(conn.next_tag() + " LOGOUT\r\n")
                    except TestFailure:
                        pass
                return Result(test.name, "skipped", [str(skip)],
                              seconds=time.monotonic() - start)
            except (TestFailure, OSError, EOFError) as exc:
                self.fail(str(exc) or type(exc).__name__)
                return Result(test.name, "failed", self.failures, len(test.groups),
                              len(test.groups), time.monotonic() - start)
            self.init_finished = True
            for index in range(len(test.groups)):
                try:
                    self.run_group(index)
                except TestFailure as exc:
                    if not self.failures or str(exc) not in self.failures[-1]:
                        self.fail(str(exc))
                    break
                except OSError as exc:
                    self.fail("I/O error: %s" % exc)
                    break
            status = "failed" if self.failures else "passed"
            return Result(test.name, status, self.failures, len(test.groups),
                          len(self.failed_group_set), time.monotonic() - start)
        finally:
            for conn in self.conns:
                conn.close()


class Runner:
    def __init__(self, config, tests_dir=DEFAULT_TESTS_DIR):
        self.config = config
        self.tests_dir = tests_dir

    def run_one(self, name):
        path = os.path.join(self.tests_dir, name)
        try:
            test = parse_script(path)
            execution = Execution(self, test)
        except (ScriptError, OSError, ValueError) as exc:
            return Result(name, "error", ["script error: %s" % exc])
        return execution.run()

    def run(self, names=None, progress=None):
        results = []
        for name in names or list_scripts(self.tests_dir):
            result = self.run_one(name)
            results.append(result)
            if progress:
                progress(result)
        return results


def summary(results):
    counts = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    for r in results:
        counts[r.status] += 1
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=143)
    parser.add_argument("--tls", action="store_true", help="implicit TLS (imaps)")
    parser.add_argument("--user", default="imaptest@example.test")
    parser.add_argument("--password", default="imaptest-pass-1")
    parser.add_argument("--dovecot", action="store_true",
                        help="run against a throwaway Dovecot started here (needs root and "
                             "dovecot-imapd): checks the runner itself")
    parser.add_argument("--tests", default=DEFAULT_TESTS_DIR, help="scripts folder")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--trace", action="store_true", help="protocol trace on stderr")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("names", nargs="*", help="scripts to run (default: all)")
    args = parser.parse_args(argv)
    config = Config(args.host, args.port, args.tls, args.user, args.password,
                    timeout=args.timeout, trace=args.trace)
    runner = Runner(config, args.tests)
    dovecot = None
    if args.dovecot:
        import tempfile
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                        "bench", "imap"))
        from dovecot_instance import DovecotInstance
        mail_root = tempfile.mkdtemp(prefix="imaptest-dovecot-mail-")
        os.chmod(mail_root, 0o777)
        dovecot = DovecotInstance(mail_root, {args.user: args.password}).start()
        config.port = dovecot.imaps_port if args.tls else dovecot.imap_port
        print("dovecot %s on port %d (%s)" % (
            subprocess.run(["dovecot", "--version"], capture_output=True,
                           text=True).stdout.strip(), config.port, dovecot.root))

    def progress(r):
        print("%-34s %s (%.1fs)" % (r.name, r.status, r.seconds))
        for f in r.failures:
            print("    " + f.replace("\n", "\n    "))
        sys.stdout.flush()

    try:
        results = runner.run(args.names or None, progress)
    finally:
        if dovecot is not None:
            dovecot.stop()
            import shutil
            shutil.rmtree(dovecot.root, ignore_errors=True)
            shutil.rmtree(dovecot.mail_root, ignore_errors=True)
    counts = summary(results)
    print("%d scripts: %d passed, %d failed, %d skipped, %d script errors" % (
        len(results), counts["passed"], counts["failed"], counts["skipped"], counts["error"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([r.as_dict() for r in results], f, indent=1)
    return 1 if counts["failed"] or counts["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
