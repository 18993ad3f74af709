'use strict';
// The example of README.md runs as it is and prints what its comment says.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const dir = path.join(__dirname, '..');

test('the README example runs and prints the repr, true and false', () => {
  const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  const code = /```js\n([\s\S]*?)```/.exec(readme)[1];
  assert.equal(code.trimEnd().split('\n').length, 5, 'five lines');
  // Run from the package's directory, where require('csock') is the package itself.
  const out = execFileSync(process.execPath, ['-e', code], { cwd: dir, encoding: 'utf8' });
  assert.match(out,
               /^<csock fd=\d+, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=0\.0\.0\.0:0> true false\n$/);
});
