'use strict';
// createServer and createConnection over loopback: the recorded values, the attempt report,
// blocking mode read back, a refused connection's errno, accept.
const test = require('node:test');
const assert = require('node:assert/strict');
const csock = require('..');

const K = csock.constants;

test('a server on 127.0.0.1 and a connection to it', () => {
  const server = csock.createServer('127.0.0.1', 0);
  try {
    assert.deepEqual([server.family, server.type, server.proto], [K.AF_INET, K.SOCK_STREAM, 0]);
    assert.equal(csock.inspect(server.fd).listening, true);
    assert.equal(server.getBlocking(), true);
    assert.equal(server.getInheritable(), false);
    const laddr = server.getsockname();
    const port = Number(/^127\.0\.0\.1:(\d+)$/.exec(laddr)[1]);
    assert.ok(port > 0);
    assert.match(String(server), new RegExp(`laddr=${laddr.replace(/\./g, '\\.')}>$`));

    const conn = csock.createConnection('127.0.0.1', port);
    assert.deepEqual([conn.family, conn.type, conn.proto],
                     [K.AF_INET, K.SOCK_STREAM, K.IPPROTO_TCP]);
    assert.equal(conn.getpeername(), laddr);
    assert.equal(conn.getBlocking(), true);
    assert.deepEqual(conn.attempts,
                     [{ address: laddr, step: csock.STEP_CONNECT, errno: 0, code: null }]);
    const { socket: peer, address } = server.accept();
    assert.equal(address, conn.getsockname());
    assert.equal(peer.family, K.AF_INET);
    peer.close();
    conn.close();

    const nb = csock.createConnection('127.0.0.1', String(port), { nonblock: true,
                                                                  timeout: 5000 });
    assert.equal(nb.getBlocking(), false);
    assert.equal(nb.type, K.SOCK_STREAM);
    nb.close();
    server.accept().socket.close();

    const lh = csock.createConnection('localhost', port);
    assert.equal(lh.attempts.at(-1).errno, 0);
    assert.equal(lh.attempts.at(-1).address, laddr);
    lh.close();
  } finally {
    server.close();
  }
});

test('a closed port: ECONNREFUSED, with the attempt that failed', () => {
  const server = csock.createServer('127.0.0.1', 0);
  const port = server.getsockname().split(':')[1];
  server.close();
  assert.throws(() => csock.createConnection('127.0.0.1', port), (err) => {
    assert.equal(err.code, 'ECONNREFUSED');
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.equal(err.attempts.length, 1);
    assert.equal(err.attempts[0].code, 'ECONNREFUSED');
    assert.equal(err.attempts[0].step, csock.STEP_CONNECT);
    return true;
  });
  assert.throws(() => csock.createConnection('127.0.0.1', 70000), { code: 'EINVAL' });
});

test('a service the resolver does not know: EAI_SERVICE, no DNS asked', () => {
  assert.throws(() => csock.createConnection('127.0.0.1', 'no-such-service-csock'), (err) => {
    assert.equal(err.code, 'EAI_SERVICE');
    assert.equal(err.gai, K.EAI_SERVICE);
    assert.ok(err.errno <= -4096, 'outside the errno range');
    assert.match(err.message, /getaddrinfo: EAI_SERVICE/);
    assert.deepEqual(err.attempts, []);
    return true;
  });
});

test('server options: nonblock, backlog, dualstack, a bind failure\'s message', () => {
  const server = csock.createServer('127.0.0.1', 0, { nonblock: true, backlog: 4 });
  try {
    assert.equal(server.getBlocking(), false);
    const port = server.getsockname().split(':')[1];
    assert.throws(() => csock.createServer('127.0.0.1', port), {
      code: 'EADDRINUSE',
      message: new RegExp(`\\(while attempting to bind on address 127\\.0\\.0\\.1:${port}\\)$`),
    });
    assert.throws(() => csock.createServer('127.0.0.1', 0, { dualstack: true }),
                  { code: 'EINVAL' });
  } finally {
    server.close();
  }
});

test('an AF_UNIX server on an abstract name', () => {
  const name = `@csock-node-test-${process.pid}`;
  const server = csock.createServer(name, null, { family: K.AF_UNIX });
  assert.equal(server.family, K.AF_UNIX);
  assert.equal(server.getsockname(), name);
  server.close();
});
