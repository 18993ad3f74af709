'use strict';
// The structs declared by hand in csock.js have the layout the C compiler gives the header's
// types (printed by bindings/layout.c, built by make as $CSOCK_LAYOUT).
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const koffi = require('koffi');
require('..');

const program = process.env.CSOCK_LAYOUT;

test('struct layouts match C', { skip: !program && 'CSOCK_LAYOUT is not set' }, () => {
  const lines = execFileSync(program, { encoding: 'utf8' }).trim().split('\n');
  let compared = 0;
  for (const line of lines) {
    const [name, what, a, , b] = line.split(' ');
    const [type, field] = name.split('.');
    let t;
    try {
      t = koffi.type(type === 'sockaddr_storage' ? 'csock_attempt' : type);
    } catch {
      continue; // a type this binding does not declare (csock_listen_fd)
    }
    if (type === 'sockaddr_storage') {
      // The attempt's address: sockaddr_storage's size, and its alignment, the struct's.
      assert.deepEqual([t.members.addr.type.size, t.alignment], [Number(a), Number(b)], line);
    } else if (field === undefined) {
      assert.deepEqual([t.size, t.alignment], [Number(a), Number(b)], line);
    } else {
      assert.equal(what, 'offset');
      assert.deepEqual([koffi.offsetof(t, field), t.members[field].type.size],
                       [Number(a), Number(b)], line);
    }
    compared++;
  }
  assert.ok(compared >= 10, `${compared} layouts compared`);
});
