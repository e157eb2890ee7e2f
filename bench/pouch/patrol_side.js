'use strict';
// patrol_side.js -- one patrol run of bench/pouch/run.sh.
//   node patrol_side.js --master DIR --dir RUN --patrol PATH --patrold PATH
//                       [--batch-entries N]
// DIR is what pouch_records made: DIR/srv (patrold's data, the device
// enrolled), DIR/store (the terminal's store, not synced) and DIR/info.json
// (its "port": the URL the store was enrolled with). Untimed: both are
// copied to RUN, patrold serves the copy on 127.0.0.1 (any port) and a
// byte-counting relay (relay.js, its own process) listens on the enrolled
// port in front of it. Timed: `patrol --store RUN/store sync --json`, the
// whole process (start, TLS 1.2 with mutual authentication, the batches,
// the reference-data pull), with PATROL_SYNC_BATCH_ENTRIES=N if given
// (1: one request per entry; default: the terminal's own, 500). Then the
// receipt's acked_seq is checked against the journal's head and one JSON
// line printed: records, seconds, records/s, wire bytes up and down,
// connections, requests (batches), CPU seconds of client, server and relay.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { procCpu, stop, relayStats, startRelay, arg } = require('./common.js');

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// patrold serve on dir; resolves {child, port} once its log says listening.
async function startPatrold(patrold, dir, log) {
  const fd = fs.openSync(log, 'a');
  const child = spawn(patrold, ['--data', dir, 'serve', '--listen', '127.0.0.1:0'],
    { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  let exited = false;
  child.on('exit', () => { exited = true; });
  for (let i = 0; i < 1500 && !exited; i++) {
    const m = /event=listening addr=127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(log, 'utf8'));
    if (m) return { child, port: Number(m[1]) };
    await sleep(10);
  }
  await stop(child);
  throw new Error(`patrold did not listen (see ${log})`);
}

// Runs argv under bash so that `times` reports the child's CPU time.
function timedRun(argv, env) {
  return new Promise((resolve, reject) => {
    const script = '"$@"; rc=$?; times >&2; exit $rc';
    const child = spawn('bash', ['-c', script, 'timed', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const t0 = process.hrtime.bigint();
    child.on('error', reject);
    child.on('exit', (code) => {
      const ns = Number(process.hrtime.bigint() - t0);
      // `times`: the shell's user/sys, then its children's: "0m0.123s 0m0.045s"
      const t = [...err.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)];
      const c = t.length ? t[t.length - 1] : null;
      const cpu = c ? Number(c[1]) * 60 + Number(c[2]) + Number(c[3]) * 60 + Number(c[4]) : -1;
      resolve({ code, ns, out, err, cpu });
    });
  });
}

async function main() {
  const master = arg('--master');
  const run = arg('--dir');
  const patrol = arg('--patrol');
  const patrold = arg('--patrold');
  const batch = arg('--batch-entries', '');
  if (!master || !run || !patrol || !patrold) {
    process.stderr.write('usage: node patrol_side.js --master DIR --dir RUN --patrol PATH --patrold PATH [--batch-entries N]\n');
    process.exit(2);
  }
  const info = JSON.parse(fs.readFileSync(path.join(master, 'info.json'), 'utf8'));
  fs.mkdirSync(run, { recursive: true });
  fs.cpSync(path.join(master, 'srv'), path.join(run, 'srv'), { recursive: true });
  fs.cpSync(path.join(master, 'store'), path.join(run, 'store'), { recursive: true });
  const srv = await startPatrold(patrold, path.join(run, 'srv'), path.join(run, 'srv.log'));
  let relay;
  try {
    relay = await startRelay(srv.port, info.port);
    const env = { ...process.env };
    delete env.PATROL_STORE;
    if (batch) env.PATROL_SYNC_BATCH_ENTRIES = batch;
    const s0 = await relayStats(relay);
    const srvCpu0 = procCpu(srv.child.pid);
    const relayCpu0 = procCpu(relay.child.pid);
    const r = await timedRun([patrol, '--store', path.join(run, 'store'), 'sync', '--json'], env);
    const srvCpu = procCpu(srv.child.pid) - srvCpu0;
    const relayCpu = procCpu(relay.child.pid) - relayCpu0;
    const s1 = await relayStats(relay);
    let res;
    try { res = JSON.parse(r.out); } catch (e) { res = null; }
    if (r.code !== 0 || !res || !res.ok || res.acked_seq !== info.entries ||
        res.entries_accepted !== info.entries) {
      throw new Error(`patrol sync failed (exit ${r.code}): ${r.out.trim()} ${r.err.trim()}`);
    }
    const secs = r.ns / 1e9;
    process.stdout.write(JSON.stringify({
      side: batch === '1' ? 'patrol-per-entry' : 'patrol',
      batch_entries: batch ? Number(batch) : null,
      records: info.entries,
      seconds: +secs.toFixed(3),
      records_per_s: +(info.entries / secs).toFixed(1),
      sync_ms: res.duration_ms,
      wire_up: s1.up - s0.up,
      wire_down: s1.down - s0.down,
      wire_bytes: s1.up - s0.up + s1.down - s0.down,
      conns: s1.conns - s0.conns,
      batches: res.batches,
      body_bytes: res.bytes_sent,
      signed_bytes: info.signed_bytes,
      cpu_client_s: +r.cpu.toFixed(3),
      cpu_server_s: +srvCpu.toFixed(2),
      cpu_relay_s: +relayCpu.toFixed(2),
    }) + '\n');
  } finally {
    if (relay) await stop(relay.child);
    await stop(srv.child);
  }
}

main().catch((e) => {
  process.stderr.write(`patrol_side: ${e.stack || e}\n`);
  process.exit(1);
});
