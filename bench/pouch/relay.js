'use strict';
// relay.js -- a byte-counting TCP relay, one process of its own, used the
// same way by both sides of bench/pouch/run.sh:
//   node relay.js --target PORT [--listen PORT]
// listens on 127.0.0.1:LISTEN (0: any free port), forwards every connection
// to 127.0.0.1:TARGET and counts the TCP payload each way (for patrol the
// TLS records, handshakes included; for PouchDB the plain HTTP). It prints
// {"port":N} once listening; for each line "stats" on its stdin it prints
// {"up":bytes client->server,"down":bytes server->client,"conns":accepted}.
// It exits when its stdin closes (its parent is gone) or on SIGTERM.
const net = require('net');
const readline = require('readline');

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const target = Number(arg('--target'));
const listen = Number(arg('--listen', '0'));
if (!(target > 0 && target < 65536) || !(listen >= 0 && listen < 65536)) {
  process.stderr.write('usage: node relay.js --target PORT [--listen PORT]\n');
  process.exit(2);
}

let up = 0;
let down = 0;
let conns = 0;

// One direction: what a reads goes to b, with backpressure; a's end
// half-closes b; an error on either side closes both.
function pipe(a, b, count) {
  a.on('data', (d) => {
    count(d.length);
    if (!b.write(d)) a.pause();
  });
  b.on('drain', () => a.resume());
  a.on('end', () => b.end());
}

const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (c) => {
  conns++;
  const s = net.connect({ port: target, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
  pipe(c, s, (n) => { up += n; });
  pipe(s, c, (n) => { down += n; });
  const kill = () => { c.destroy(); s.destroy(); };
  c.on('error', kill);
  s.on('error', kill);
});
server.on('error', (e) => {
  process.stderr.write(`relay: ${e.message}\n`);
  process.exit(1);
});
server.listen(listen, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (l) => {
  if (l.trim() === 'stats') process.stdout.write(JSON.stringify({ up, down, conns }) + '\n');
});
rl.on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
