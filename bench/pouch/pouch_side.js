'use strict';
// pouch_side.js -- one PouchDB run of bench/pouch/run.sh.
//   node pouch_side.js --log LOG.json --sigs SIGS.json --dir DIR
// LOG.json is `patrol log --json --reveal` of the store patrol syncs,
// SIGS.json its signatures (pouch_records writes it). Each journal entry
// becomes one document: the entry as patrol log --json prints it (fields,
// hash, prev, ...) plus "sig" (r||s in hex), _id its seq (10 digits).
// Untimed: the documents are written into a local PouchDB in DIR/local
// (LevelDB), express-pouchdb is started on 127.0.0.1 (pouch_server.js,
// its own process, databases in DIR/server) and a byte-counting relay in
// front of it (relay.js, its own process). Timed: local.replicate.to()
// the server through the relay, with PouchDB's default options, until it
// completes. Then the server's doc_count is checked (directly, not through
// the relay) and one JSON line printed: records, seconds, records/s, wire
// bytes up and down, connections, CPU seconds of client, server and relay.
const fs = require('fs');
const http = require('http');
const path = require('path');
const { procCpu, startJsonChild, stop, relayStats, startRelay, arg } = require('./common.js');

function getJson(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { b += d; });
      res.on('end', () => { try { resolve(JSON.parse(b)); } catch (e) { reject(e); } });
    }).on('error', reject);
  });
}

async function main() {
  const logFile = arg('--log');
  const sigFile = arg('--sigs');
  const dir = arg('--dir');
  if (!logFile || !sigFile || !dir) {
    process.stderr.write('usage: node pouch_side.js --log LOG.json --sigs SIGS.json --dir DIR\n');
    process.exit(2);
  }
  const PouchDB = require('pouchdb');
  const entries = JSON.parse(fs.readFileSync(logFile, 'utf8'));
  const sigs = new Map(JSON.parse(fs.readFileSync(sigFile, 'utf8')));
  const docs = entries.map((e) => {
    if (!sigs.has(e.seq)) throw new Error(`no signature for entry ${e.seq}`);
    return { _id: String(e.seq).padStart(10, '0'), ...e, sig: sigs.get(e.seq) };
  });
  fs.mkdirSync(dir, { recursive: true });
  const local = new PouchDB(path.join(dir, 'local'));
  for (let i = 0; i < docs.length; i += 500) {
    const res = await local.bulkDocs(docs.slice(i, i + 500));
    const bad = res.find((r) => r.error);
    if (bad) throw new Error(`local write: ${JSON.stringify(bad)}`);
  }
  const docBytes = docs.reduce((n, d) => n + Buffer.byteLength(JSON.stringify(d)), 0);

  const srv = await startJsonChild(process.execPath, [path.join(__dirname, 'pouch_server.js'), path.join(dir, 'server')],
    { cwd: dir }, 30000);
  let relay;
  try {
    relay = await startRelay(srv.first.port, 0);
    const remote = new PouchDB(`http://127.0.0.1:${relay.first.port}/bench`);
    const s0 = await relayStats(relay);
    const srvCpu0 = procCpu(srv.child.pid);
    const relayCpu0 = procCpu(relay.child.pid);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const rep = await local.replicate.to(remote);
    const ns = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    const srvCpu = procCpu(srv.child.pid) - srvCpu0;
    const relayCpu = procCpu(relay.child.pid) - relayCpu0;
    const s1 = await relayStats(relay);
    const info = await getJson(`http://127.0.0.1:${srv.first.port}/bench`);
    if (!rep.ok || rep.docs_written !== docs.length || info.doc_count !== docs.length) {
      throw new Error(`replication incomplete: ok ${rep.ok}, written ${rep.docs_written}, ` +
        `server holds ${info.doc_count} of ${docs.length}`);
    }
    const secs = ns / 1e9;
    process.stdout.write(JSON.stringify({
      side: 'pouchdb',
      records: docs.length,
      seconds: +secs.toFixed(3),
      records_per_s: +(docs.length / secs).toFixed(1),
      wire_up: s1.up - s0.up,
      wire_down: s1.down - s0.down,
      wire_bytes: s1.up - s0.up + s1.down - s0.down,
      conns: s1.conns - s0.conns,
      doc_json_bytes: docBytes,
      cpu_client_s: +((cpu.user + cpu.system) / 1e6).toFixed(3),
      cpu_server_s: +srvCpu.toFixed(2),
      cpu_relay_s: +relayCpu.toFixed(2),
      pouchdb: require('pouchdb/package.json').version,
      express_pouchdb: require('express-pouchdb/package.json').version,
    }) + '\n');
  } finally {
    if (relay) await stop(relay.child);
    await stop(srv.child);
    await local.close();
  }
}

main().catch((e) => {
  process.stderr.write(`pouch_side: ${e.stack || e}\n`);
  process.exit(1);
});
