'use strict';
// pouch_server.js -- the PouchDB side's server: express-pouchdb 4 over
// PouchDB 9 (LevelDB on disk, as the pouchdb package comes), plain HTTP on
// 127.0.0.1, databases under DIR.
//   node pouch_server.js DIR
// Prints {"port":N} once listening. Exits on SIGTERM or when stdin closes.
const path = require('path');
const fs = require('fs');
const readline = require('readline');

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node pouch_server.js DIR\n');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
const PouchDB = require('pouchdb').defaults({ prefix: path.resolve(dir) + '/' });
// minimumForPouchDB: the routes replication uses, nothing else (no Fauxton,
// no auth); the configuration stays in memory, the log in DIR.
const app = require('express-pouchdb')(PouchDB, {
  mode: 'minimumForPouchDB',
  inMemoryConfig: true,
  logPath: path.join(dir, 'log.txt'),
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
readline.createInterface({ input: process.stdin }).on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
