'use strict';
// open() with defaults and flags, the recorded values, state read back from the kernel, errors
// as CsockError, constants by name, repr, and the finalizer.
const test = require('node:test');
const assert = require('node:assert/strict');
const { errno } = require('node:os').constants;
const csock = require('..');

const K = csock.constants;

test('open() with defaults: AF_INET, SOCK_STREAM, 0, blocking, not inheritable', () => {
  const s = csock.open();
  assert.ok(s.fd >= 0);
  assert.deepEqual([s.family, s.type, s.proto], [K.AF_INET, K.SOCK_STREAM, 0]);
  assert.equal(s.getBlocking(), true);
  assert.equal(s.getInheritable(), false);
  assert.equal(csock.inspect(s.fd).cloexec, true);
  assert.equal(String(s),
               `<csock fd=${s.fd}, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=0.0.0.0:0>`);
  const fd = s.fd;
  s.close();
  assert.equal(s.fd, -1);
  assert.throws(() => csock.inspect(fd), { code: 'EBADF' });
  s.close(); // a no-op
  assert.equal(String(s), '<csock [closed] fd=-1, family=AF_INET, type=SOCK_STREAM, proto=0>');
  assert.throws(() => s.getBlocking(), { code: 'EBADF', errno: -errno.EBADF });
});

test('SOCK_NONBLOCK: recorded type without the flag, non-blocking in the kernel', () => {
  const s = csock.open(K.AF_INET, K.SOCK_STREAM | K.SOCK_NONBLOCK);
  try {
    assert.equal(s.type, K.SOCK_STREAM);
    assert.equal(s.getBlocking(), false);
    assert.equal(csock.inspect(s.fd).nonblock, true);
    s.setBlocking(true);
    assert.equal(s.getBlocking(), true);
    assert.equal(csock.inspect(s.fd).nonblock, false);
  } finally {
    s.close();
  }
});

test('AF_INET6 SOCK_DGRAM with both flags, and dup', () => {
  const s = csock.open(K.AF_INET6, K.SOCK_DGRAM | K.SOCK_NONBLOCK | K.SOCK_CLOEXEC);
  assert.deepEqual([s.family, s.type, s.proto], [K.AF_INET6, K.SOCK_DGRAM, 0]);
  assert.equal(s.getBlocking(), false);
  assert.match(String(s), /family=AF_INET6, type=SOCK_DGRAM, proto=0/);
  const d = s.dup();
  assert.notEqual(d.fd, s.fd);
  assert.deepEqual([d.family, d.type, d.proto], [s.family, s.type, s.proto]);
  assert.equal(d.getInheritable(), false);
  d.close();
  s[Symbol.dispose]();
  assert.equal(s.fd, -1);
});

test('errors carry the errno, its name, the function and csock_last_error()', () => {
  assert.throws(() => csock.open(12345), (err) => {
    assert.ok(err instanceof csock.CsockError);
    assert.equal(err.code, 'EAFNOSUPPORT');
    assert.equal(err.errno, -errno.EAFNOSUPPORT);
    assert.equal(err.syscall, 'csock_open');
    assert.match(err.message, /csock_open.*EAFNOSUPPORT/);
    assert.equal(err.message, csock.lastError());
    return true;
  });
  assert.throws(() => csock.open(K.AF_INET, 999), { code: 'EINVAL' });
  assert.throws(() => csock.adopt(-7), { code: 'EBADF', message: /csock_adopt\(fd=-7\)/ });
});

test('constants by name', () => {
  assert.equal(K.SOCK_NONBLOCK, 2048);
  assert.equal(K.AF_UNIX, 1);
  assert.equal(K.IPPROTO_TCP, 6);
  assert.throws(() => csock.constant('AF_NOPE'), { code: 'ENOENT', message: /ENOENT/ });
  assert.throws(() => K.AF_NOPE, { code: 'ENOENT' });
  assert.equal(csock.familyName(K.AF_INET6), 'AF_INET6');
  assert.equal(csock.typeName(K.SOCK_DGRAM | K.SOCK_NONBLOCK), 'SOCK_DGRAM');
  assert.equal(csock.familyName(4242), null);
});

test('constants wider than int are exact (csock_constant64)', () => {
  assert.equal(csock.constant('CAN_EFF_FLAG'), 0x80000000);
  assert.equal(csock.constant('INADDR_NONE'), 0xffffffff);
});

test('the version is the header\'s, has() tells the library\'s functions', () => {
  assert.match(csock.version(), /^\d+\.\d+\.\d+$/);
  assert.equal(csock.has('csock_create_connection'), true);
  assert.equal(csock.has('csock_nope'), false);
});

const collect = async () => {
  for (let i = 0; i < 10; i++) {
    global.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
};

test('the garbage collector closes a socket nobody closed, not a detached one', {
  skip: typeof global.gc !== 'function' && 'run node with --expose-gc',
}, async () => {
  let fd = (() => csock.open().fd)();
  await collect();
  assert.throws(() => csock.inspect(fd), { code: 'EBADF' });

  fd = (() => csock.open().detach())();
  await collect();
  assert.equal(csock.inspect(fd).family, K.AF_INET);
  csock.adopt(fd).close();
});
