// tests/node/smart_host.js: a smart host for Postern's relay tests, built on npm's smtp-server
// (the library many hosted relays are built on). Run by tests/harness/relay_peers.py, one process
// per test, on a loopback port; killed by its PID at the end of the test.
//
//   node tests/node/smart_host.js CONFIG.json
//
// CONFIG (written by the test):
//   host, port         where to listen (loopback only: the script refuses anything else)
//   key, cert          PEM files of the server certificate (made by the test from a test CA)
//   user, password     the only credentials AUTH accepts
//   outdir             where received messages and the event log go
//   implicitTls        optional, true: TLS from the first byte (port 465 style, RFC 8314)
//                      instead of STARTTLS
//   rules              optional path of a JSON file re-read at every RCPT and DATA, so the test
//                      can change the answers while the server runs:
//                        {"rcpt": {"addr@dom": {"code": 550, "message": "..."}},
//                         "data": {"code": 421, "message": "...", "times": 1}}
//                      "data" answers after the whole message has been read (a 4xx or 5xx
//                      after the final dot); "times" limits how many transactions get it
//                      (counted by this process; absent: every one). smtp-server adds the
//                      enhanced status code (RFC 3463) to each reply itself: "message" must
//                      not start with one.
//
// What it enforces, like a hosted smart host: STARTTLS (or implicit TLS) before AUTH
// (allowInsecureAuth false), AUTH before MAIL (authOptional false), AUTH PLAIN and LOGIN only.
//
// What it writes, so the test can check the bytes relay sent:
//   outdir/msg-N.eml   the message exactly as received (the DATA bytes, dot-unstuffed, CRLF)
//   outdir/msg-N.json  the envelope: mailFrom, rcptTo, the user that authenticated, whether the
//                      session was under TLS, the TLS protocol; written after the .eml, by
//                      rename, so a .json means the message is complete
//   outdir/events.jsonl  one JSON line per AUTH attempt (with the credentials given), per RCPT
//                      refused and per DATA refused, for the test to see what was tried
// Trusts nothing it receives; limits: 10 MiB per message (SIZE, and refused above it),
// 20 clients at once.
'use strict';

const fs = require('fs');
const path = require('path');
const { SMTPServer } = require('smtp-server');

const kMaxMessageBytes = 10 * 1024 * 1024;

function main() {
  if (process.argv.length !== 3) {
    process.stderr.write('usage: node smart_host.js CONFIG.json\n');
    process.exit(2);
  }
  const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  if (!['127.0.0.1', '::1'].includes(config.host)) {
    process.stderr.write(`refusing to listen on ${config.host}: loopback only\n`);
    process.exit(2);
  }
  fs.mkdirSync(config.outdir, { recursive: true });
  const eventsPath = path.join(config.outdir, 'events.jsonl');
  let messageCount = 0;
  let dataRuleUses = 0;

  const logEvent = (event) => {
    fs.appendFileSync(eventsPath, JSON.stringify({ time: Date.now(), ...event }) + '\n');
  };

  const readRules = () => {
    if (!config.rules) return {};
    try {
      return JSON.parse(fs.readFileSync(config.rules, 'utf8'));
    } catch (err) {
      if (err.code === 'ENOENT') return {};
      throw err;
    }
  };

  const refusal = (rule) => {
    const err = new Error(rule.message || 'refused by test rule');
    err.responseCode = rule.code;
    return err;
  };

  const server = new SMTPServer({
    secure: !!config.implicitTls,
    key: fs.readFileSync(config.key),
    cert: fs.readFileSync(config.cert),
    name: config.name || 'smarthost.test',
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: false,
    allowInsecureAuth: false,
    hideSTARTTLS: false,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: false,
    size: kMaxMessageBytes,
    rejectOversized: true,
    maxClients: 20,
    logger: false,
    onAuth(auth, session, callback) {
      const ok = auth.username === config.user && auth.password === config.password;
      logEvent({ event: 'auth', method: auth.method, user: auth.username,
                 password: auth.password, ok, secure: !!session.secure });
      if (!ok) {
        const err = new Error('Authentication credentials invalid');
        err.responseCode = 535;
        return callback(err);
      }
      return callback(null, { user: auth.username });
    },
    onRcptTo(address, session, callback) {
      const rule = (readRules().rcpt || {})[address.address.toLowerCase()];
      if (rule) {
        logEvent({ event: 'rcpt_refused', rcpt: address.address, code: rule.code });
        return callback(refusal(rule));
      }
      return callback();
    },
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(null);  // rejectOversized answers 552
        const rule = readRules().data;
        if (rule && (rule.times === undefined || dataRuleUses < rule.times)) {
          dataRuleUses += 1;
          logEvent({ event: 'data_refused', code: rule.code,
                     rcptTo: session.envelope.rcptTo.map((a) => a.address) });
          return callback(refusal(rule));
        }
        messageCount += 1;
        const base = path.join(config.outdir, `msg-${messageCount}`);
        fs.writeFileSync(`${base}.eml`, Buffer.concat(chunks));
        const envelope = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
          mailArgs: session.envelope.mailFrom ? session.envelope.mailFrom.args : null,
          rcptTo: session.envelope.rcptTo.map((a) => a.address),
          user: session.user || null,
          secure: !!session.secure,
          tlsProtocol: session.tlsOptions ? session.tlsOptions.version || null : null,
          clientHostname: session.hostNameAppearsAs || null,
        };
        fs.writeFileSync(`${base}.json.tmp`, JSON.stringify(envelope));
        fs.renameSync(`${base}.json.tmp`, `${base}.json`);
        return callback(null, `Ok: queued as msg-${messageCount}`);
      });
    },
  });

  server.on('error', (err) => {
    process.stderr.write(`smart_host: ${err.message}\n`);
  });
  server.listen(config.port, config.host, () => {
    process.stdout.write(`READY ${config.host} ${config.port}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
