// An IMAP client for tests/peer/test_imap_imapflow.py: imapflow (the library Node mail apps
// use) drives Postern's imapd the way a desktop client does. Options come as one JSON argument:
//   {"port": 1234, "secure": true, "user": "...", "pass": "...", "ca": "/path/cert.pem",
//    "flag": {"add": [uid...], "remove": [uid...]}, "move": [uid...]}
// It lists the folders, fetches every INBOX message (UID, flags, envelope, source), sets
// \Flagged \Seen on the "add" UIDs and removes \Seen from the "remove" UIDs, moves the "move"
// UIDs to the folder marked \Trash, then sits in IDLE and reports untagged EXISTS. Each step
// prints one JSON line on stdout ({"event": ...}); the Python side answers on stdin: after
// "idling" it delivers mail and, when it has seen what it waited for, writes "done" so the
// client leaves IDLE and logs out. secure=false: plain connect, then STARTTLS (doSTARTTLS:
// required). The suite's certificate is self-signed: trusted as the CA, the host name check is
// skipped. Talks only to 127.0.0.1; every step is bounded by imapflow's timeouts and a global
// kDeadlineMs; exits non-zero with the error on failure.
'use strict';
const fs = require('fs');
const readline = require('readline');
const {ImapFlow} = require('imapflow');

const kDeadlineMs = 120000;

function emit(object) {
  process.stdout.write(JSON.stringify(object) + '\n');
}

const stderrLog = (entry) => process.stderr.write(JSON.stringify(entry) + '\n');
const stderrLogger = {debug: stderrLog, info: stderrLog, warn: stderrLog, error: stderrLog};

function flagList(flags) {
  return flags ? Array.from(flags).sort() : [];
}

async function main() {
  const options = JSON.parse(process.argv[2]);
  const deadline = setTimeout(() => {
    process.stderr.write(`imapflow: no end after ${kDeadlineMs} ms\n`);
    process.exit(2);
  }, kDeadlineMs);
  const input = readline.createInterface({input: process.stdin});
  const lines = input[Symbol.asyncIterator]();

  const client = new ImapFlow({
    host: '127.0.0.1',
    port: options.port,
    secure: options.secure,
    doSTARTTLS: options.secure ? undefined : true,
    auth: {user: options.user, pass: options.pass},
    tls: {ca: [fs.readFileSync(options.ca)], checkServerIdentity: () => undefined},
    // IMAP_CLIENT_LOG=1: imapflow's protocol log on stderr (stdout carries the events).
    logger: process.env.IMAP_CLIENT_LOG ? stderrLogger : false,
    connectionTimeout: 20000,
    greetingTimeout: 20000,
    socketTimeout: 60000,
    disableAutoIdle: true,
  });
  client.on('error', (error) => {
    process.stderr.write(`imapflow error event: ${error.message}\n`);
  });
  await client.connect();
  emit({event: 'capabilities', capabilities: Array.from(client.capabilities.keys()).sort()});

  const folders = await client.list();
  emit({
    event: 'list',
    folders: folders.map((f) => ({path: f.path, delimiter: f.delimiter,
                                  specialUse: f.specialUse || null,
                                  flags: flagList(f.flags), subscribed: !!f.subscribed})),
  });
  const trash = folders.find((f) => f.specialUse === '\\Trash');

  const mailbox = await client.mailboxOpen('INBOX');
  emit({event: 'opened', exists: mailbox.exists, uidValidity: String(mailbox.uidValidity),
        uidNext: mailbox.uidNext});

  const messages = [];
  if (mailbox.exists > 0) {
    for await (const message of client.fetch('1:*', {uid: true, flags: true, envelope: true,
                                                      source: true, size: true})) {
      messages.push({
        seq: message.seq, uid: message.uid, flags: flagList(message.flags), size: message.size,
        subject: message.envelope.subject || null, messageId: message.envelope.messageId || null,
        from: (message.envelope.from || []).map((a) => a.address),
        source: message.source.toString('base64'),
      });
    }
  }
  emit({event: 'fetched', messages});

  const flag = options.flag || {};
  if (flag.add && flag.add.length) {
    const ok = await client.messageFlagsAdd(flag.add.join(','), ['\\Flagged', '\\Seen'],
                                            {uid: true});
    emit({event: 'flagged', ok});
  }
  if (flag.remove && flag.remove.length) {
    const ok = await client.messageFlagsRemove(flag.remove.join(','), ['\\Seen'], {uid: true});
    emit({event: 'unflagged', ok});
  }
  const after = [];
  for await (const message of client.fetch('1:*', {uid: true, flags: true})) {
    after.push({uid: message.uid, flags: flagList(message.flags)});
  }
  emit({event: 'flags', messages: after});

  if (options.move && options.move.length) {
    if (!trash) throw new Error('no folder with \\Trash');
    const result = await client.messageMove(options.move.join(','), trash.path, {uid: true});
    emit({event: 'moved', destination: result.destination,
          uidMap: result.uidMap ? Array.from(result.uidMap.entries()) : null});
  }

  client.on('exists', (data) => {
    emit({event: 'exists', count: data.count, prevCount: data.prevCount, at: Date.now()});
  });
  client.on('expunge', (data) => emit({event: 'expunge', seq: data.seq}));
  const idling = client.idle();
  emit({event: 'idling', exists: client.mailbox.exists});
  const next = await lines.next();
  if (next.done || next.value.trim() !== 'done') throw new Error('expected "done" on stdin');
  // Any command ends IDLE (imapflow sends DONE first); NOOP shows the count it ends with.
  await client.noop();
  await idling;
  emit({event: 'after-idle', exists: client.mailbox.exists});
  await client.logout();
  clearTimeout(deadline);
  input.close();
}

main().catch((error) => {
  process.stderr.write(`imapflow: ${error.code || ''} ${error.responseText || ''} ` +
                       `${error.message}\n`);
  process.exit(1);
});
