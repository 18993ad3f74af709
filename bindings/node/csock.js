'use strict';
// csock for Node.js: CPython's socket creation semantics through libcsock and koffi.
//
//   const csock = require('csock');
//   const { SOCK_STREAM, SOCK_NONBLOCK } = csock.constants;
//   using s = csock.open(csock.DEFAULT, SOCK_STREAM | SOCK_NONBLOCK);   // or s.close()
//   console.log(String(s), s.type, s.getBlocking());
//
// The library is $CSOCK_LIBRARY if set, else libcsock.so.0 from the loader's search path.
// Errors are thrown as CsockError, shaped like Node's own system errors: `code` ('EPERM'),
// `errno` (negative, as csock returns it and as Node reports errno), `syscall` (the csock
// function) and the message of csock_last_error(). A Socket closes its descriptor when it is
// closed, disposed (`using`) or garbage collected, whichever comes first.

const os = require('node:os');
const koffi = require('koffi');

const DEFAULT = -1;                  // CSOCK_DEFAULT
const INFO_NONBLOCK = 0x1;           // CSOCK_INFO_NONBLOCK
const INFO_CLOEXEC = 0x2;            // CSOCK_INFO_CLOEXEC
const INFO_LISTENING = 0x4;          // CSOCK_INFO_LISTENING
const SERVER_REUSE_PORT = 0x1;       // CSOCK_SERVER_REUSE_PORT
const SERVER_DUALSTACK = 0x2;        // CSOCK_SERVER_DUALSTACK
const STEP_SOCKET = 1;               // CSOCK_STEP_SOCKET
const STEP_BIND = 2;                 // CSOCK_STEP_BIND
const STEP_CONNECT = 3;              // CSOCK_STEP_CONNECT
const SOCKADDR_STORAGE_SIZE = 128;   // sizeof(struct sockaddr_storage) on Linux

// The header's types. Addresses travel as bytes (a Buffer or Uint8Array).
koffi.alias('socklen_t', 'uint32_t');
const csock_socket = koffi.struct('csock_socket', {
  fd: 'int', family: 'int', type: 'int', proto: 'int',
});
koffi.struct('csock_info', { family: 'int', type: 'int', proto: 'int', flags: 'uint32_t' });
const csock_attempt = koffi.struct('csock_attempt', {
  addr: [8, koffi.array('uint8_t', SOCKADDR_STORAGE_SIZE, 'Typed')],
  addrlen: 'socklen_t',
  step: 'int',
  error: 'int',
});
const csock_connect_opts = koffi.struct('csock_connect_opts', {
  size: 'size_t',
  source_host: 'const char *',
  source_port: 'const char *',
  total_timeout_ms: 'int',
  attempt_delay_ms: 'int',
  flags: 'int',
  attempts: 'void *',
  attempts_cap: 'size_t',
  attempts_len: 'size_t',
});
koffi.proto('int csock_audit_hook(const char *event, int fd, int family, int type, int proto, ' +
            'void *userdata)');

// Every function of include/csock.h that this binding uses, as koffi declares them.
const PROTOTYPES = [
  'int csock_open(_Out_ csock_socket *out, int family, int type, int proto)',
  'int csock_adopt(_Out_ csock_socket *out, int fd, int family, int type, int proto)',
  'int csock_fromfd(_Out_ csock_socket *out, int fd, int family, int type, int proto)',
  'int csock_dup(_Out_ csock_socket *out, const csock_socket *sock)',
  'int csock_socketpair(_Out_ csock_socket *pair, int family, int type, int proto)',
  'int csock_accept(const csock_socket *listener, _Out_ csock_socket *out, uint8_t *addr, ' +
    '_Inout_ socklen_t *addrlen, int flags)',
  'int csock_close(_Inout_ csock_socket *sock)',
  'int csock_detach(_Inout_ csock_socket *sock)',
  'int csock_shutdown(const csock_socket *sock, int how)',
  'int csock_get_inheritable(const csock_socket *sock)',
  'int csock_set_inheritable(const csock_socket *sock, bool inheritable)',
  'int csock_get_blocking(const csock_socket *sock)',
  'int csock_set_blocking(const csock_socket *sock, bool blocking)',
  'int csock_inspect(int fd, _Out_ csock_info *info)',
  'int csock_getsockname(const csock_socket *sock, uint8_t *addr, _Inout_ socklen_t *len)',
  'int csock_getpeername(const csock_socket *sock, uint8_t *addr, _Inout_ socklen_t *len)',
  'int csock_format_addr(const uint8_t *addr, socklen_t len, int proto, uint8_t *buf, ' +
    'size_t size)',
  'int csock_repr(const csock_socket *sock, uint8_t *buf, size_t size)',
  'const char *csock_family_name(int family)',
  'const char *csock_type_name(int type)',
  'int csock_constant64(const char *name, _Out_ int64_t *value)',
  'int csock_audit_add(csock_audit_hook *hook, void *userdata)',
  'int csock_create_connection(_Out_ csock_socket *out, const char *host, const char *port, ' +
    'int timeout_ms, _Inout_ csock_connect_opts *opts)',
  'int csock_create_server(_Out_ csock_socket *out, const char *host, const char *port, ' +
    'int family, int backlog, uint32_t flags)',
  'int csock_gai_error(int rc)',
  'const char *csock_last_error(void)',
  'const char *csock_version(void)',
];

const lib = koffi.load(process.env.CSOCK_LIBRARY || 'libcsock.so.0');
const fn = {};
for (const proto of PROTOTYPES) {
  const name = /(csock_\w+)\(/.exec(proto)[1];
  try {
    fn[name] = lib.func(proto);
  } catch (err) {
    // A library older than this binding lacks the newest functions; has(name) tells.
    if (!/^Cannot find function/.test(String(err.message))) throw err;
  }
}

/** True if the loaded library has the function `name` (e.g. 'csock_create_connection'). */
function has(name) {
  return Object.prototype.hasOwnProperty.call(fn, name);
}

const ERRNO_NAMES = Object.fromEntries(
  Object.entries(os.constants.errno).map(([name, value]) => [value, name]));

// The resolver's EAI_* values by number, from csock's constants (Python's names).
const EAI = ['ADDRFAMILY', 'AGAIN', 'BADFLAGS', 'FAIL', 'FAMILY', 'MEMORY', 'NODATA', 'NONAME',
             'OVERFLOW', 'SERVICE', 'SOCKTYPE', 'SYSTEM'];
let eaiNames;
function eaiName(value) {
  if (eaiNames === undefined) {
    eaiNames = {};
    for (const name of EAI) {
      const v = [0];
      if (fn.csock_constant64(`EAI_${name}`, v) === 0) eaiNames[Number(v[0])] = `EAI_${name}`;
    }
  }
  return eaiNames[value] || 'EAI_UNKNOWN';
}

/**
 * An error returned by libcsock: rc is its negative return value. A resolver failure (a host
 * or service getaddrinfo could not resolve) has `code` 'EAI_NONAME', 'EAI_SERVICE'... and
 * `gai`, the EAI_* value.
 */
class CsockError extends Error {
  constructor(rc, syscall, message) {
    super(message || `${syscall}: error ${rc}`);
    this.name = 'CsockError';
    this.errno = rc;
    const gai = fn.csock_gai_error(rc);
    if (gai !== 0) {
      this.gai = gai;
      this.code = eaiName(gai);
    } else {
      this.code = ERRNO_NAMES[-rc] || 'UNKNOWN';
    }
    this.syscall = syscall;
  }
}

function lastError() {
  return fn.csock_last_error();
}

function call(name, ...args) {
  const f = fn[name];
  if (f === undefined) {
    throw new CsockError(-os.constants.errno.ENOSYS, name, `${name}: not in this libcsock`);
  }
  const rc = f(...args);
  if (rc < 0) throw new CsockError(rc, name, lastError());
  return rc;
}

// csock_format_addr and csock_repr work like snprintf: ask for the length, then fill.
function snprintf(name, ...args) {
  const len = call(name, ...args, null, 0);
  const buf = Buffer.alloc(len + 1);
  call(name, ...args, buf, buf.length);
  return buf.toString('utf8', 0, len);
}

/** csock_format_addr: text for address bytes ('127.0.0.1:8080', '[::1]:80', a path...). */
function formatAddr(addr, proto = 0) {
  if (addr.length === 0) return '';
  return snprintf('csock_format_addr', addr, addr.length, proto);
}

// Closes what a collected Socket still owned.
const finalizer = new FinalizationRegistry((value) => {
  if (value.fd >= 0) fn.csock_close(value);
});

const closedValue = () => ({ fd: -1, family: -1, type: -1, proto: -1 });

/** A csock_socket owned by JavaScript. Make one with open(), adopt(), fromFd()... */
class Socket {
  #value;

  constructor(value) {
    this.#value = value;
    finalizer.register(this, value, value);
  }

  /** The descriptor; -1 once closed or detached. */
  get fd() { return this.#value.fd; }
  /** The recorded AF_*. */
  get family() { return this.#value.family; }
  /** The recorded SOCK_*, never with SOCK_NONBLOCK or SOCK_CLOEXEC. */
  get type() { return this.#value.type; }
  /** The recorded protocol. */
  get proto() { return this.#value.proto; }

  /** csock_close: closes the descriptor once; closing a closed socket does nothing. */
  close() {
    finalizer.unregister(this.#value);
    call('csock_close', this.#value);
  }

  /** csock_detach: hands the descriptor back without closing it. */
  detach() {
    const fd = call('csock_detach', this.#value);
    finalizer.unregister(this.#value);
    return fd;
  }

  /** csock_dup: a non-inheritable duplicate recording the same values. */
  dup() {
    const out = {};
    call('csock_dup', out, this.#value);
    return new Socket(out);
  }

  /** csock_accept(flags): { socket, address } (the peer's address text). */
  accept(flags = 0) {
    const out = {};
    const addr = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
    const len = [addr.length];
    call('csock_accept', this.#value, out, addr, len, flags);
    const socket = new Socket(out);
    return { socket, address: formatAddr(addr.subarray(0, len[0]), out.proto) };
  }

  /** csock_shutdown(how): SHUT_RD, SHUT_WR or SHUT_RDWR. */
  shutdown(how) { call('csock_shutdown', this.#value, how); }

  /** csock_get_blocking, read from the kernel. */
  getBlocking() { return call('csock_get_blocking', this.#value) === 1; }
  /** csock_set_blocking. */
  setBlocking(blocking) { call('csock_set_blocking', this.#value, Boolean(blocking)); }
  /** csock_get_inheritable, read from the kernel. */
  getInheritable() { return call('csock_get_inheritable', this.#value) === 1; }
  /** csock_set_inheritable. */
  setInheritable(inheritable) {
    call('csock_set_inheritable', this.#value, Boolean(inheritable));
  }

  #address(name) {
    const addr = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
    const len = [0];
    call(name, this.#value, addr, len);
    return formatAddr(addr.subarray(0, len[0]), this.#value.proto);
  }

  /** csock_getsockname, as text ('127.0.0.1:8080'). */
  getsockname() { return this.#address('csock_getsockname'); }
  /** csock_getpeername, as text. */
  getpeername() { return this.#address('csock_getpeername'); }

  /** csock_repr: '<csock fd=3, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=...>'. */
  toString() { return snprintf('csock_repr', this.#value); }
  [Symbol.for('nodejs.util.inspect.custom')]() { return this.toString(); }
  [Symbol.dispose || Symbol.for('Symbol.dispose')]() { this.close(); }
}

const def = (v) => (v === undefined || v === null ? DEFAULT : v);

/** csock_open: socket.socket(family, type, proto); undefined or DEFAULT is the default. */
function open(family, type, proto) {
  const out = {};
  call('csock_open', out, def(family), def(type), def(proto));
  return new Socket(out);
}

/** csock_adopt: takes ownership of fd; undefined or DEFAULT values are detected. */
function adopt(fd, family, type, proto) {
  const out = {};
  call('csock_adopt', out, fd, def(family), def(type), def(proto));
  return new Socket(out);
}

/** csock_fromfd: adopts a non-inheritable duplicate of fd; fd stays the caller's. */
function fromFd(fd, family, type, proto) {
  const out = {};
  call('csock_fromfd', out, fd, def(family), def(type), def(proto));
  return new Socket(out);
}

/**
 * The descriptor of a socket made by Node's net module (a listening net.Server or a connected
 * net.Socket), for fromFd(). Node has no public accessor; this reads the handle's fd, which
 * Node keeps and closes itself.
 */
function fdOf(nodeSocket) {
  const handle = nodeSocket._handle;
  if (!handle || typeof handle.fd !== 'number' || handle.fd < 0) {
    throw new TypeError('not an open Node socket with a descriptor');
  }
  return handle.fd;
}

/** csock_socketpair: [a, b], two connected non-inheritable sockets (AF_UNIX, SOCK_STREAM). */
function socketpair(family, type, proto) {
  const out = [{}, {}];
  call('csock_socketpair', koffi.as(out, 'csock_socket *'), def(family), def(type), def(proto));
  return out.map((value) => new Socket(value));
}

/** csock_inspect(fd): { family, type, proto, flags, nonblock, cloexec, listening }. */
function inspect(fd) {
  const info = {};
  call('csock_inspect', fd, info);
  return {
    ...info,
    nonblock: (info.flags & INFO_NONBLOCK) !== 0,
    cloexec: (info.flags & INFO_CLOEXEC) !== 0,
    listening: (info.flags & INFO_LISTENING) !== 0,
  };
}

/** csock_family_name: 'AF_INET', or null. */
function familyName(family) { return fn.csock_family_name(family); }
/** csock_type_name: 'SOCK_STREAM' (flag bits ignored), or null. */
function typeName(type) { return fn.csock_type_name(type); }

/**
 * csock_constant64: the exact value of a constant of Python's socket module, by name (a
 * Number: every value fits 53 bits); throws CsockError ENOENT for an unknown name.
 */
function constant(name) {
  const value = [0];
  call('csock_constant64', name, value);
  return Number(value[0]);
}

/** constants.NAME: constant(NAME), looked up once; an unknown name throws. */
const constants = new Proxy({}, {
  get(cache, name) {
    if (typeof name !== 'string') return undefined;
    if (!(name in cache)) cache[name] = constant(name);
    return cache[name];
  },
});

// Hooks cannot be removed: their koffi callbacks stay registered for the process's life.
const hooks = [];

/**
 * csock_audit_add(hook): hook(event, fd, family, type, proto) runs for every creation.
 * Returning undefined or 0 allows it; a negative number refuses with that error (-13:
 * EACCES), a positive one with EPERM. A hook that throws refuses with EPERM.
 */
function auditAdd(hook) {
  const callback = koffi.register((event, fd, family, type, proto) => {
    try {
      return Number(hook(event, fd, family, type, proto) || 0);
    } catch {
      return 1;
    }
  }, 'csock_audit_hook *');
  try {
    call('csock_audit_add', callback, null);
  } catch (err) {
    koffi.unregister(callback);
    throw err;
  }
  hooks.push(callback);
}

const portText = (port) => (port === undefined || port === null ? null : String(port));

/**
 * csock_create_connection(host, port, options): a connected Socket whose `attempts` lists
 * every address tried ({ address, step, code, errno }); a failure throws a CsockError with
 * the same `attempts`. options (all optional): timeout (ms per attempt; none waits without
 * limit), totalTimeout, attemptDelay (ms: Happy Eyeballs), sourceHost, sourcePort, nonblock,
 * maxAttempts (16).
 */
function createConnection(host, port, options = {}) {
  const cap = options.maxAttempts || 16;
  const size = koffi.sizeof(csock_attempt);
  const buf = Buffer.alloc(size * cap);
  const opts = {
    size: koffi.sizeof(csock_connect_opts),
    source_host: options.sourceHost ?? null,
    source_port: portText(options.sourcePort),
    total_timeout_ms: options.totalTimeout || 0,
    attempt_delay_ms: options.attemptDelay || 0,
    flags: options.nonblock ? constant('SOCK_NONBLOCK') : 0,
    attempts: koffi.address(buf),
    attempts_cap: cap,
    attempts_len: 0,
  };
  const out = {};
  const report = () => {
    const list = [];
    for (let i = 0; i < Math.min(Number(opts.attempts_len), cap); i++) {
      const a = koffi.decode(buf, i * size, csock_attempt);
      list.push({
        address: formatAddr(a.addr.subarray(0, a.addrlen)),
        step: a.step,
        errno: a.error,
        code: a.error === 0 ? null : ERRNO_NAMES[-a.error] || 'UNKNOWN',
      });
    }
    return list;
  };
  try {
    call('csock_create_connection', out, host, portText(port), options.timeout ?? -1, opts);
  } catch (err) {
    if (has('csock_create_connection')) err.attempts = report();
    throw err;
  }
  const socket = new Socket(out);
  socket.attempts = report();
  return socket;
}

/**
 * csock_create_server(host, port, options): a listening Socket. options (all optional):
 * family (AF_INET), backlog (128), reusePort, dualstack, nonblock (booleans).
 */
function createServer(host, port, options = {}) {
  let flags = 0;
  if (options.reusePort) flags |= SERVER_REUSE_PORT;
  if (options.dualstack) flags |= SERVER_DUALSTACK;
  if (options.nonblock) flags |= constant('SOCK_NONBLOCK');
  const out = {};
  call('csock_create_server', out, host ?? null, portText(port), def(options.family),
       def(options.backlog), flags);
  return new Socket(out);
}

module.exports = {
  DEFAULT, INFO_NONBLOCK, INFO_CLOEXEC, INFO_LISTENING, SERVER_REUSE_PORT, SERVER_DUALSTACK,
  STEP_SOCKET, STEP_BIND, STEP_CONNECT,
  CsockError, Socket, PROTOTYPES,
  open, adopt, fromFd, fdOf, socketpair, inspect, formatAddr, familyName, typeName, constant,
  constants, auditAdd, createConnection, createServer, has, lastError,
  version: () => fn.csock_version(),
};
