# frozen_string_literal: true

# csock for Ruby: CPython's socket creation semantics through libcsock and Fiddle.
#
#   require "csock"
#   Csock.open(Csock::AF_INET, Csock::SOCK_STREAM | Csock::SOCK_NONBLOCK) do |s|
#     puts s.inspect, s.type, s.blocking?   # <csock fd=5, family=AF_INET, ...>, 1, false
#   end
#
# The library is $CSOCK_LIBRARY if set, else libcsock.so.0 from the loader's search path.
# A failure raises the Errno exception of its errno (Errno::EPERM, Errno::ECONNREFUSED, ...)
# whose message is csock_last_error()'s text, or, for a host or service the resolver could not
# resolve, a Csock::ResolverError (a SocketError, as Ruby's own getaddrinfo raises). Constants are looked up by name through
# csock_constant64 (Csock::SOCK_STREAM, Csock.constant("CAN_EFF_FLAG")). A Csock::Socket closes
# its descriptor on #close, at the end of a block, or when it is garbage collected.

require "fiddle"
require "fiddle/import"
require "socket"

module Csock
  DEFAULT = -1              # CSOCK_DEFAULT: "the default" when creating, "detect" when adopting
  INFO_NONBLOCK = 0x1       # CSOCK_INFO_NONBLOCK
  INFO_CLOEXEC = 0x2        # CSOCK_INFO_CLOEXEC
  INFO_LISTENING = 0x4      # CSOCK_INFO_LISTENING
  SERVER_REUSE_PORT = 0x1   # CSOCK_SERVER_REUSE_PORT
  SERVER_DUALSTACK = 0x2    # CSOCK_SERVER_DUALSTACK
  STEP_SOCKET = 1           # CSOCK_STEP_SOCKET
  STEP_BIND = 2             # CSOCK_STEP_BIND
  STEP_CONNECT = 3          # CSOCK_STEP_CONNECT
  SOCKADDR_STORAGE_SIZE = 128

  # The C declarations: the header's structs and the functions this binding calls.
  module Lib
    extend Fiddle::Importer
    dlload ENV.fetch("CSOCK_LIBRARY", "libcsock.so.0")

    typealias "socklen_t", "unsigned int"
    typealias "bool", "unsigned char"

    SocketStruct = struct(["int fd", "int family", "int type", "int proto"])
    Info = struct(["int family", "int type", "int proto", "uint32_t flags"])
    # struct sockaddr_storage is 128 bytes aligned like unsigned long.
    Attempt = struct(["unsigned long addr[16]", "socklen_t addrlen", "int step", "int error"])
    ConnectOpts = struct(["size_t size", "void *source_host", "void *source_port",
                          "int total_timeout_ms", "int attempt_delay_ms", "int flags",
                          "void *attempts", "size_t attempts_cap", "size_t attempts_len"])

    PROTOTYPES = [
      "int csock_open(csock_socket *out, int family, int type, int proto)",
      "int csock_adopt(csock_socket *out, int fd, int family, int type, int proto)",
      "int csock_fromfd(csock_socket *out, int fd, int family, int type, int proto)",
      "int csock_dup(csock_socket *out, const csock_socket *sock)",
      "int csock_socketpair(csock_socket *pair, int family, int type, int proto)",
      "int csock_accept(const csock_socket *listener, csock_socket *out, void *addr, " \
      "socklen_t *addrlen, int flags)",
      "int csock_close(csock_socket *sock)",
      "int csock_detach(csock_socket *sock)",
      "int csock_shutdown(const csock_socket *sock, int how)",
      "int csock_get_inheritable(const csock_socket *sock)",
      "int csock_set_inheritable(const csock_socket *sock, bool inheritable)",
      "int csock_get_blocking(const csock_socket *sock)",
      "int csock_set_blocking(const csock_socket *sock, bool blocking)",
      "int csock_inspect(int fd, csock_info *info)",
      "int csock_getsockname(const csock_socket *sock, void *addr, socklen_t *len)",
      "int csock_getpeername(const csock_socket *sock, void *addr, socklen_t *len)",
      "int csock_format_addr(const void *addr, socklen_t len, int proto, char *buf, size_t size)",
      "int csock_repr(const csock_socket *sock, char *buf, size_t size)",
      "const char *csock_family_name(int family)",
      "const char *csock_type_name(int type)",
      "int csock_constant64(const char *name, int64_t *value)",
      "int csock_audit_add(void *hook, void *userdata)",
      "int csock_create_connection(csock_socket *out, const char *host, const char *port, " \
      "int timeout_ms, csock_connect_opts *opts)",
      "int csock_create_server(csock_socket *out, const char *host, const char *port, " \
      "int family, int backlog, uint32_t flags)",
      "int csock_gai_error(int rc)",
      "const char *csock_last_error(void)",
      "const char *csock_version(void)",
    ].freeze

    # Functions a library older than this binding lacks; see Csock.has?.
    MISSING = []

    PROTOTYPES.each do |proto|
      extern proto
    rescue Fiddle::DLError
      MISSING << proto[/csock_\w+(?=\()/]
    end
  end
  private_constant :Lib

  # True if the loaded library has the function +name+ ("csock_create_connection").
  def self.has?(name)
    Lib.respond_to?(name) && !Lib::MISSING.include?(name.to_s)
  end

  # csock_last_error(): this thread's last failure message.
  def self.last_error
    Lib.csock_last_error.to_s
  end

  # csock_version(): "0.2.0".
  def self.version
    Lib.csock_version.to_s
  end

  # A resolver failure: getaddrinfo could not resolve a host or a service.
  class ResolverError < SocketError
    # The EAI_* value (Csock::EAI_NONAME, ...), as Ruby's Socket::ResolutionError#error_code.
    attr_reader :error_code
    # csock's return value.
    attr_reader :code

    def initialize(message, error_code, code)
      super(message)
      @error_code = error_code
      @code = code
    end
  end

  # Raises the Errno exception of a negative return +rc+ (a ResolverError for a resolver's
  # code), else returns +rc+.
  def self.check(rc)
    return rc unless rc.negative?

    gai = Lib.csock_gai_error(rc)
    raise ResolverError.new(last_error, gai, rc) unless gai.zero?

    raise SystemCallError.new(last_error, -rc)
  end

  # csock_format_addr and csock_repr work like snprintf: ask for the length, then fill.
  def self.snprintf(name, *args)
    len = check(Lib.public_send(name, *args, nil, 0))
    buf = Fiddle::Pointer.malloc(len + 1, Fiddle::RUBY_FREE)
    check(Lib.public_send(name, *args, buf, len + 1))
    buf.to_s(len)
  end

  # csock_format_addr: text for address bytes ("127.0.0.1:8080", "[::1]:80", a path...).
  def self.format_addr(bytes, proto = 0)
    return "" if bytes.empty?

    snprintf(:csock_format_addr, Fiddle::Pointer[bytes], bytes.bytesize, proto)
  end

  # A csock_socket owned by Ruby. Make one with Csock.open, adopt, fromfd, socketpair,
  # create_connection or create_server.
  class Socket
    # The list of attempts of Csock.create_connection (nil for other sockets).
    attr_accessor :attempts

    # Closes what a collected socket still owned. Holds the struct, not the Socket.
    def self.finalizer(struct)
      proc { Lib.csock_close(struct) if struct.fd >= 0 }
    end

    def self.wrap(struct) # :nodoc:
      sock = allocate
      sock.send(:take, struct)
      sock
    end

    # The descriptor; -1 once closed or detached.
    def fd = @s.fd
    alias fileno fd
    # The recorded AF_*.
    def family = @s.family
    # The recorded SOCK_*, never with SOCK_NONBLOCK or SOCK_CLOEXEC.
    def type = @s.type
    # The recorded protocol.
    def proto = @s.proto

    # The underlying struct csock_socket.
    def to_ptr = @s.to_ptr

    def closed? = fd.negative?

    # csock_close: closes the descriptor once; closing a closed socket does nothing.
    def close
      ObjectSpace.undefine_finalizer(self)
      Csock.check(Lib.csock_close(@s))
      nil
    end

    # csock_detach: hands the descriptor back without closing it.
    def detach
      fd = Csock.check(Lib.csock_detach(@s))
      ObjectSpace.undefine_finalizer(self)
      fd
    end

    # csock_dup: a non-inheritable duplicate recording the same values.
    def dup
      out = Csock.new_struct
      Csock.check(Lib.csock_dup(out, @s))
      Socket.wrap(out)
    end

    # csock_accept(flags): [socket, peer address text].
    def accept(flags = 0)
      out = Csock.new_struct
      addr = Fiddle::Pointer.malloc(SOCKADDR_STORAGE_SIZE, Fiddle::RUBY_FREE)
      len = [SOCKADDR_STORAGE_SIZE].pack("L")
      Csock.check(Lib.csock_accept(@s, out, addr, len, flags))
      [Socket.wrap(out), Csock.format_addr(addr.to_s(len.unpack1("L")), out.proto)]
    end

    # csock_shutdown(how): Csock::SHUT_RD, SHUT_WR or SHUT_RDWR.
    def shutdown(how)
      Csock.check(Lib.csock_shutdown(@s, how))
      nil
    end

    # csock_get_blocking, read from the kernel.
    def blocking? = Csock.check(Lib.csock_get_blocking(@s)) == 1

    # csock_set_blocking.
    def blocking=(blocking)
      Csock.check(Lib.csock_set_blocking(@s, blocking ? 1 : 0))
    end

    # csock_get_inheritable, read from the kernel.
    def inheritable? = Csock.check(Lib.csock_get_inheritable(@s)) == 1

    # csock_set_inheritable.
    def inheritable=(inheritable)
      Csock.check(Lib.csock_set_inheritable(@s, inheritable ? 1 : 0))
    end

    # csock_getsockname, as text ("127.0.0.1:8080").
    def getsockname = address(:csock_getsockname)

    # csock_getpeername, as text.
    def getpeername = address(:csock_getpeername)

    # csock_repr: "<csock fd=3, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=...>".
    def inspect = Csock.snprintf(:csock_repr, @s)
    alias to_s inspect

    private

    def take(struct)
      @s = struct
      ObjectSpace.define_finalizer(self, Socket.finalizer(struct))
    end

    def address(name)
      addr = Fiddle::Pointer.malloc(SOCKADDR_STORAGE_SIZE, Fiddle::RUBY_FREE)
      len = [0].pack("L")
      Csock.check(Lib.public_send(name, @s, addr, len))
      Csock.format_addr(addr.to_s(len.unpack1("L")), proto)
    end
  end

  def self.new_struct # :nodoc:
    s = Lib::SocketStruct.malloc(Fiddle::RUBY_FREE)
    s.fd = s.family = s.type = s.proto = -1
    s
  end

  # Yields the socket and closes it after the block, or returns it.
  def self.yield_or_return(sock)
    return sock unless block_given?

    begin
      yield sock
    ensure
      sock.close
    end
  end
  private_class_method :yield_or_return

  # csock_open: socket.socket(family, type, proto); each DEFAULT is defaulted
  # (AF_INET, SOCK_STREAM, 0). With a block, yields the socket and closes it.
  def self.open(family = DEFAULT, type = DEFAULT, proto = DEFAULT, &block)
    out = new_struct
    check(Lib.csock_open(out, family, type, proto))
    yield_or_return(Socket.wrap(out), &block)
  end

  # csock_adopt: takes ownership of +fd+ (an Integer, or an IO whose descriptor Ruby then no
  # longer closes); each DEFAULT value is detected.
  def self.adopt(fd, family = DEFAULT, type = DEFAULT, proto = DEFAULT, &block)
    io = fd if fd.is_a?(IO)
    out = new_struct
    check(Lib.csock_adopt(out, io ? io.fileno : fd, family, type, proto))
    io&.autoclose = false
    yield_or_return(Socket.wrap(out), &block)
  end

  # csock_fromfd: adopts a non-inheritable duplicate of +fd+ (an Integer or an IO), which
  # stays the caller's.
  def self.fromfd(fd, family = DEFAULT, type = DEFAULT, proto = DEFAULT, &block)
    fd = fd.fileno if fd.is_a?(IO)
    out = new_struct
    check(Lib.csock_fromfd(out, fd, family, type, proto))
    yield_or_return(Socket.wrap(out), &block)
  end

  # csock_socketpair: [a, b], two connected non-inheritable sockets (AF_UNIX, SOCK_STREAM).
  def self.socketpair(family = DEFAULT, type = DEFAULT, proto = DEFAULT)
    size = Lib::SocketStruct.size
    pair = Fiddle::Pointer.malloc(2 * size, Fiddle::RUBY_FREE)
    check(Lib.csock_socketpair(pair, family, type, proto))
    (0..1).map do |i|
      out = new_struct
      out.to_ptr[0, size] = pair[i * size, size]
      Socket.wrap(out)
    end
  end

  # What csock_inspect read: the detected family, type and proto, and the CSOCK_INFO_* flags.
  Info = Struct.new(:family, :type, :proto, :flags) do
    def nonblock? = (flags & INFO_NONBLOCK) != 0
    def cloexec? = (flags & INFO_CLOEXEC) != 0
    def listening? = (flags & INFO_LISTENING) != 0
  end

  # csock_inspect(fd): an Info for any descriptor (an Integer or an IO), without taking it.
  def self.inspect_fd(fd)
    fd = fd.fileno if fd.is_a?(IO)
    info = Lib::Info.malloc(Fiddle::RUBY_FREE)
    check(Lib.csock_inspect(fd, info))
    Info.new(info.family, info.type, info.proto, info.flags)
  end

  # csock_family_name: "AF_INET", or nil.
  def self.family_name(family)
    name = Lib.csock_family_name(family)
    name.null? ? nil : name.to_s
  end

  # csock_type_name: "SOCK_STREAM" (flag bits ignored), or nil.
  def self.type_name(type)
    name = Lib.csock_type_name(type)
    name.null? ? nil : name.to_s
  end

  # csock_constant64: the exact value of a constant of Python's socket module, by name;
  # Errno::ENOENT for an unknown name.
  def self.constant(name)
    value = [0].pack("q")
    check(Lib.csock_constant64(name.to_s, value))
    value.unpack1("q")
  end

  # Csock::SOCK_STREAM and every other name csock knows, looked up once; an unknown name is
  # Ruby's NameError.
  def self.const_missing(name)
    const_set(name, constant(name))
  rescue Errno::ENOENT
    super
  end

  HOOK_ARGS = [Fiddle::TYPE_VOIDP, Fiddle::TYPE_INT, Fiddle::TYPE_INT, Fiddle::TYPE_INT,
               Fiddle::TYPE_INT, Fiddle::TYPE_VOIDP].freeze
  private_constant :HOOK_ARGS
  # Hooks cannot be removed: their closures must live as long as the process.
  @hooks = []
  @hooks_lock = Mutex.new

  # csock_audit_add: the block runs for every creation with (event, fd, family, type, proto).
  # Returning nil or 0 allows it; a negative Integer refuses with that error (-13: EACCES), a
  # positive one with EPERM. A block that raises refuses with EPERM.
  def self.audit_add(&hook)
    raise ArgumentError, "audit_add needs a block" unless hook

    closure = Fiddle::Closure::BlockCaller.new(Fiddle::TYPE_INT, HOOK_ARGS) do |ev, *args, _ud|
      rc = hook.call(ev.to_s, *args)
      rc.is_a?(Integer) ? rc : 0
    rescue Exception # never let an exception unwind through C
      1
    end
    @hooks_lock.synchronize do
      check(Lib.csock_audit_add(closure, nil))
      @hooks << closure
    end
    nil
  end

  # One csock_attempt of a create_connection report.
  Attempt = Struct.new(:address, :step, :errno) do
    # The Errno class of the attempt's error, nil for the attempt that connected.
    def error_class = errno.zero? ? nil : SystemCallError.new(nil, -errno).class
  end

  # csock_create_connection(host, port, ...): a connected Socket whose #attempts lists every
  # address tried (Attempt: address, step, errno); a failure raises the Errno exception of the
  # last attempt, which answers #attempts too. +timeout+ (ms per attempt, nil: no limit),
  # +total_timeout+, +attempt_delay+ (ms: Happy Eyeballs), +source_host+, +source_port+,
  # +nonblock+, +max_attempts+.
  def self.create_connection(host, port, timeout: nil, total_timeout: 0, attempt_delay: 0,
                             source_host: nil, source_port: nil, nonblock: false,
                             max_attempts: 16, &block)
    size = Lib::Attempt.size
    buf = Fiddle::Pointer.malloc(size * max_attempts, Fiddle::RUBY_FREE)
    strings = [source_host, source_port&.to_s].map { |s| s && Fiddle::Pointer[s] }
    opts = Lib::ConnectOpts.malloc(Fiddle::RUBY_FREE)
    opts.size = Lib::ConnectOpts.size
    opts.source_host, opts.source_port = strings.map { |p| p || 0 }
    opts.total_timeout_ms = total_timeout
    opts.attempt_delay_ms = attempt_delay
    opts.flags = nonblock ? constant("SOCK_NONBLOCK") : 0
    opts.attempts = buf
    opts.attempts_cap = max_attempts
    opts.attempts_len = 0
    out = new_struct
    rc = Lib.csock_create_connection(out, host, port&.to_s, timeout || -1, opts)
    attempts = (0...[opts.attempts_len, max_attempts].min).map do |i|
      a = Lib::Attempt.new((buf + (i * size)).to_i)
      Attempt.new(format_addr(buf[i * size, a.addrlen]), a.step, a.error)
    end
    begin
      check(rc)
    rescue SystemCallError, ResolverError => e
      e.define_singleton_method(:attempts) { attempts }
      raise
    end
    sock = Socket.wrap(out)
    sock.attempts = attempts
    yield_or_return(sock, &block)
  end

  # csock_create_server(host, port, ...): a listening Socket. +family+ (AF_INET), +backlog+
  # (128), +reuse_port+, +dualstack+, +nonblock+.
  def self.create_server(host, port, family: DEFAULT, backlog: DEFAULT, reuse_port: false,
                         dualstack: false, nonblock: false, &block)
    flags = 0
    flags |= SERVER_REUSE_PORT if reuse_port
    flags |= SERVER_DUALSTACK if dualstack
    flags |= constant("SOCK_NONBLOCK") if nonblock
    out = new_struct
    check(Lib.csock_create_server(out, host, port&.to_s, family, backlog, flags))
    yield_or_return(Socket.wrap(out), &block)
  end
end
