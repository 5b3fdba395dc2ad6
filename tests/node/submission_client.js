// A submission client for tests/protocol/test_submission_clients.py: sends one message with
// nodemailer (the library web apps and scripts use) to Postern's submission service and prints
// the server's final reply as JSON. Options come as one JSON argument:
//   {"port": 1234, "secure": false, "user": "...", "pass": "...", "method": "PLAIN"|"LOGIN",
//    "from": "...", "to": "...", "subject": "...", "text": "...", "ca": "/path/cert.pem"}
// secure=false: plain connect, then STARTTLS (requireTLS: refuse to go on without it);
// secure=true: TLS from the first byte (465). The suite's certificate is self-signed: it is
// trusted as the CA and the host name check is skipped (it names mx.example.test). Talks only
// to 127.0.0.1; exits non-zero with the error on failure. Bounded by nodemailer's timeouts.
'use strict';
const fs = require('fs');
const nodemailer = require('nodemailer');

async function main() {
  const options = JSON.parse(process.argv[2]);
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: options.port,
    secure: options.secure,
    requireTLS: !options.secure,
    auth: {user: options.user, pass: options.pass, method: options.method},
    tls: {ca: [fs.readFileSync(options.ca)], checkServerIdentity: () => undefined},
    connectionTimeout: 20000,
    greetingTimeout: 20000,
    socketTimeout: 20000,
  });
  const info = await transport.sendMail({
    from: options.from,
    to: options.to,
    subject: options.subject,
    text: options.text,
  });
  process.stdout.write(JSON.stringify({response: info.response, messageId: info.messageId}) + '\n');
}

main().catch((error) => {
  process.stderr.write(`nodemailer: ${error.code || ''} ${error.responseCode || ''} ` +
                       `${error.response || error.message}\n`);
  process.exit(1);
});
