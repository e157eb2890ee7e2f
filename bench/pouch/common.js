'use strict';
// What pouch_side.js and patrol_side.js share: children that print one JSON
// line when ready, their CPU time from /proc, a relay to ask for counts.
const { spawn } = require('child_process');
const fs = require('fs');
const readline = require('readline');

const TICK = 100; // USER_HZ: /proc/PID/stat counts CPU in 1/100 s on Linux

// user + system CPU seconds of a live process, or -1.
function procCpu(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK; // fields 14, 15: utime, stime
  } catch (e) {
    return -1;
  }
}

// Spawn a child whose stdout gives JSON lines; resolves with
// {child, next()} once the first line has come (or rejects after ms).
function startJsonChild(cmd, args, opts, ms) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'], ...opts });
    const waiting = [];
    const lines = [];
    readline.createInterface({ input: child.stdout }).on('line', (l) => {
      let v;
      try { v = JSON.parse(l); } catch (e) { return; }
      if (waiting.length) waiting.shift()(v); else lines.push(v);
    });
    const next = () => new Promise((res) => {
      if (lines.length) res(lines.shift()); else waiting.push(res);
    });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} ${args.join(' ')}: not ready in ${ms} ms`)); }, ms);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${cmd} ${args.join(' ')} exited (${code})`)); });
    next().then((first) => { clearTimeout(timer); resolve({ child, first, next }); });
  });
}

// Stop a child we started, by its pid: SIGTERM, then SIGKILL after 10 s.
function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.removeAllListeners('exit');
    child.on('exit', () => { clearTimeout(t); resolve(); });
    child.kill('SIGTERM');
  });
}

async function relayStats(r) {
  r.child.stdin.write('stats\n');
  return r.next();
}

function startRelay(target, listen) {
  const args = [`${__dirname}/relay.js`, '--target', String(target)];
  if (listen) args.push('--listen', String(listen));
  return startJsonChild(process.execPath, args, {}, 15000);
}

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

module.exports = { procCpu, startJsonChild, stop, relayStats, startRelay, arg };
