'use strict';
// Adoption of sockets made by Node's own net module (through fromFd: Node keeps its
// descriptor), and of csock's socketpair: detection, validation, the descriptor left unchanged.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { once } = require('node:events');
const csock = require('..');

const K = csock.constants;

test('a net.Server listening on 127.0.0.1: AF_INET, SOCK_STREAM, IPPROTO_TCP', async () => {
  const server = net.createServer((conn) => conn.end('hello'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const fd = csock.fdOf(server);
    const before = csock.inspect(fd);
    const s = csock.fromFd(fd);
    assert.notEqual(s.fd, fd);
    assert.deepEqual([s.family, s.type, s.proto], [K.AF_INET, K.SOCK_STREAM, K.IPPROTO_TCP]);
    assert.equal(s.getsockname(), `127.0.0.1:${server.address().port}`);
    assert.equal(csock.inspect(s.fd).listening, true);
    assert.equal(s.getBlocking(), !before.nonblock); // libuv's descriptors are non-blocking
    assert.equal(s.getInheritable(), false);
    assert.match(String(s), new RegExp(`laddr=127\\.0\\.0\\.1:${server.address().port}>$`));
    s.close();
    assert.deepEqual(csock.inspect(fd), before, 'Node\'s descriptor is unchanged');

    // Node still serves on its descriptor: a net client gets the greeting.
    const client = net.connect(server.address().port, '127.0.0.1');
    await once(client, 'connect');
    const c = csock.fromFd(csock.fdOf(client));
    assert.equal(c.getpeername(), `127.0.0.1:${server.address().port}`);
    assert.equal(c.getsockname(), `${client.localAddress}:${client.localPort}`);
    c.close();
    const [data] = await once(client, 'data');
    assert.equal(String(data), 'hello');
    client.destroy();
  } finally {
    server.close();
  }
});

test('adopt takes ownership, detects the values, keeps an explicit type without flags', () => {
  const [a, b] = csock.socketpair(K.AF_UNIX, K.SOCK_DGRAM);
  const fd = a.detach();
  const adopted = csock.adopt(fd);
  assert.equal(adopted.fd, fd);
  assert.deepEqual([adopted.family, adopted.type, adopted.proto], [K.AF_UNIX, K.SOCK_DGRAM, 0]);
  adopted.close();
  assert.throws(() => csock.inspect(fd), { code: 'EBADF' });

  b.setBlocking(false);
  const fd2 = b.detach();
  const explicit = csock.adopt(fd2, K.AF_UNIX, K.SOCK_DGRAM | K.SOCK_NONBLOCK, 0);
  assert.equal(explicit.type, K.SOCK_DGRAM);
  assert.equal(explicit.getBlocking(), false);
  explicit.close();
});

test('a descriptor that is not a socket: ENOTSOCK, and it stays the caller\'s', () => {
  const fs = require('node:fs');
  const fd = fs.openSync(__filename, 'r');
  try {
    assert.throws(() => csock.adopt(fd), { code: 'ENOTSOCK', message: /ENOTSOCK/ });
    assert.ok(fs.fstatSync(fd).isFile());
  } finally {
    fs.closeSync(fd);
  }
  assert.throws(() => csock.fdOf({}), TypeError);
});

test('socketpair: two connected AF_UNIX ends, not inheritable', () => {
  const [a, b] = csock.socketpair();
  assert.deepEqual([a.family, a.type, b.family, b.type],
                   [K.AF_UNIX, K.SOCK_STREAM, K.AF_UNIX, K.SOCK_STREAM]);
  assert.equal(a.getInheritable() || b.getInheritable(), false);
  const info = csock.inspect(a.fd);
  assert.equal(info.cloexec && !info.nonblock && !info.listening, true);
  a.close();
  b.close();
});
