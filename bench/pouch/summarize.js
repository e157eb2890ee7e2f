'use strict';
// summarize.js -- medians, min-max and ratios of bench/pouch/run.sh's runs.
//   node summarize.js RESULTS.jsonl
// RESULTS.jsonl: one JSON line per run and side (pouch_side.js,
// patrol_side.js). Prints a table, the ratios against the issue's targets
// (patrol >= 20x PouchDB's records/s with <= 1/3 of its wire bytes), and
// one JSON line starting with {"bench":"pouch".
const fs = require('fs');

const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const sides = ['pouchdb', 'patrol', 'patrol-per-entry'].filter((s) => rows.some((r) => r.side === s));

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
function stat(v) { return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length }; }
function fmt(x, d = 0) { return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }); }
function mm(s, d = 0) { return `${fmt(s.median, d)} (${fmt(s.min, d)}-${fmt(s.max, d)})`; }

const out = {};
for (const side of sides) {
  const rs = rows.filter((r) => r.side === side);
  const o = {
    runs: rs.length,
    records: rs[0].records,
    records_per_s: stat(rs.map((r) => r.records_per_s)),
    seconds: stat(rs.map((r) => r.seconds)),
    wire_bytes: stat(rs.map((r) => r.wire_bytes)),
    wire_up: stat(rs.map((r) => r.wire_up)),
    wire_down: stat(rs.map((r) => r.wire_down)),
    bytes_per_record: stat(rs.map((r) => r.wire_bytes / r.records)),
    conns: stat(rs.map((r) => r.conns)),
    cpu_client_s: stat(rs.map((r) => r.cpu_client_s)),
    cpu_server_s: stat(rs.map((r) => r.cpu_server_s)),
    cpu_relay_s: stat(rs.map((r) => r.cpu_relay_s)),
  };
  out[side] = o;
  console.log(`${side} (${o.runs} runs, ${o.records} records): ${mm(o.records_per_s)} records/s, ` +
    `${mm(o.seconds, 3)} s; wire ${mm(o.wire_bytes)} bytes = ${mm(o.bytes_per_record, 1)} a record ` +
    `(up ${fmt(o.wire_up.median)}, down ${fmt(o.wire_down.median)}), ${fmt(o.conns.median)} connection(s); ` +
    `CPU client ${mm(o.cpu_client_s, 2)} s, server ${mm(o.cpu_server_s, 2)} s, relay ${mm(o.cpu_relay_s, 2)} s`);
}

// Ratios within each run (the sides of one run ran back to back), then
// their median and range.
function ratio(a, b, key) {
  const v = [];
  for (const ra of rows.filter((r) => r.side === a)) {
    const rb = rows.find((r) => r.side === b && r.run === ra.run);
    if (rb) v.push(ra[key] / rb[key]);
  }
  return v.length ? stat(v) : null;
}
const ratios = {};
const pairs = [['patrol', 'pouchdb'], ['patrol-per-entry', 'pouchdb'], ['patrol', 'patrol-per-entry']];
for (const [a, b] of pairs) {
  const rps = ratio(a, b, 'records_per_s');
  const wb = ratio(a, b, 'wire_bytes');
  if (!rps) continue;
  ratios[`${a}/${b}`] = { records_per_s: rps, wire_bytes: wb };
  console.log(`${a} / ${b}: records/s x${mm(rps, 2)}, wire bytes x${mm(wb, 3)}`);
}
const main = ratios['patrol/pouchdb'];
if (main) {
  const r = main.records_per_s.median;
  const w = main.wire_bytes.median;
  console.log(`target >= 20x PouchDB's records/s: ${r >= 20 ? 'met' : 'MISSED'} (x${fmt(r, 2)}` +
    `${r >= 20 ? '' : `, ${fmt(20 / r, 2)}x short`}); target <= 1/3 of its wire bytes: ` +
    `${w <= 1 / 3 ? 'met' : 'MISSED'} (x${fmt(w, 3)})`);
}
console.log(JSON.stringify({ bench: 'pouch', sides: out, ratios }));
