'use strict';
// An audit hook written in JavaScript sees every creation and refuses the ones it chooses: its
// number is the caller's error, a throw is EPERM.
const test = require('node:test');
const assert = require('node:assert/strict');
const { errno } = require('node:os').constants;
const csock = require('..');

const K = csock.constants;
const events = [];
let refuse; // undefined: allow; a number: return it; 'throw': throw

csock.auditAdd((event, fd, family, type, proto) => {
  events.push({ event, fd, family, type, proto });
  if (refuse === 'throw') throw new Error('refused by a JavaScript exception');
  return refuse;
});

test('the hook sees open() with the defaults filled in and the type as given', () => {
  const s = csock.open(K.AF_INET6, K.SOCK_DGRAM | K.SOCK_NONBLOCK);
  s.close();
  assert.deepEqual(events.at(-1), {
    event: 'socket.__new__', fd: -1, family: K.AF_INET6, type: K.SOCK_DGRAM | K.SOCK_NONBLOCK,
    proto: 0,
  });
  csock.open().close();
  assert.deepEqual(events.at(-1).family, K.AF_INET);
  assert.deepEqual(events.at(-1).type, K.SOCK_STREAM);
});

test('a refusal is the hook\'s error, EPERM for a positive value or a throw', () => {
  refuse = -errno.EACCES;
  assert.throws(() => csock.open(), { code: 'EACCES', message: /audit/ });
  refuse = 7;
  assert.throws(() => csock.open(), { code: 'EPERM', errno: -errno.EPERM });
  refuse = 'throw';
  assert.throws(() => csock.open(), { code: 'EPERM' });
  refuse = undefined;
  csock.open().close();
});

test('adoption: the hook sees the descriptor and the detected values; a refusal keeps it', () => {
  const [a, b] = csock.socketpair(K.AF_UNIX, K.SOCK_SEQPACKET);
  const fd = a.detach();
  refuse = -errno.EACCES;
  const before = events.length;
  assert.throws(() => csock.adopt(fd), { code: 'EACCES' });
  refuse = undefined;
  assert.equal(events.length, before + 1);
  assert.deepEqual(events.at(-1), {
    event: 'socket.__new__', fd, family: K.AF_UNIX, type: K.SOCK_SEQPACKET, proto: 0,
  });
  assert.equal(csock.inspect(fd).type, K.SOCK_SEQPACKET, 'still open');
  csock.adopt(fd).close();
  b.close();
});

test('socketpair: one event per end', () => {
  const before = events.length;
  csock.socketpair().forEach((s) => s.close());
  assert.equal(events.length, before + 2);
});

test('createServer is refused by the hook', () => {
  refuse = -errno.EACCES;
  try {
    assert.throws(() => csock.createServer('127.0.0.1', 0), { code: 'EACCES' });
  } finally {
    refuse = undefined;
  }
  assert.deepEqual([events.at(-1).family, events.at(-1).type], [K.AF_INET, K.SOCK_STREAM]);
});

test('createConnection is refused by the hook, and the report names the attempt', () => {
  const server = csock.createServer('127.0.0.1', 0);
  const port = server.getsockname().split(':')[1];
  refuse = -errno.EACCES;
  try {
    assert.throws(() => csock.createConnection('127.0.0.1', port), (err) => {
      assert.equal(err.code, 'EACCES');
      assert.equal(err.attempts.length, 1);
      assert.equal(err.attempts[0].code, 'EACCES');
      assert.equal(err.attempts[0].step, csock.STEP_SOCKET);
      return true;
    });
  } finally {
    refuse = undefined;
    server.close();
  }
  assert.deepEqual([events.at(-1).family, events.at(-1).type, events.at(-1).proto],
                   [K.AF_INET, K.SOCK_STREAM, K.IPPROTO_TCP]);
});
