# frozen_string_literal: true

# Adoption of sockets made by Ruby's own socket library: detection, validation, ownership
# moving to csock (adopt) or staying with Ruby (fromfd), the descriptor never changed.
require "minitest/autorun"
require "socket"
require "csock"

class TestAdopt < Minitest::Test
  def test_fromfd_of_a_tcp_server_leaves_it_to_ruby
    server = TCPServer.new("127.0.0.1", 0)
    port = server.local_address.ip_port
    before = Csock.inspect_fd(server)
    Csock.fromfd(server) do |s|
      refute_equal server.fileno, s.fd
      assert_equal [Csock::AF_INET, Csock::SOCK_STREAM, Csock::IPPROTO_TCP],
                   [s.family, s.type, s.proto]
      assert_equal "127.0.0.1:#{port}", s.getsockname
      assert Csock.inspect_fd(s.fd).listening?
      assert_equal !before.nonblock?, s.blocking?
      refute s.inheritable?
      assert_match(/laddr=127\.0\.0\.1:#{port}>\z/, s.inspect)
    end
    assert_equal before, Csock.inspect_fd(server), "Ruby's descriptor is unchanged"
    # Ruby still serves on it.
    client = TCPSocket.new("127.0.0.1", port)
    conn = server.accept
    conn.write("hello")
    assert_equal "hello", client.read(5)
  ensure
    [client, conn, server].each { |io| io&.close }
  end

  def test_adopt_takes_a_connected_tcp_socket_from_ruby
    server = TCPServer.new("127.0.0.1", 0)
    port = server.local_address.ip_port
    client = TCPSocket.new("127.0.0.1", port)
    fd = client.fileno
    nonblock = Csock.inspect_fd(fd).nonblock?
    s = Csock.adopt(client)
    assert_equal fd, s.fd
    refute client.autoclose?, "Ruby no longer closes the descriptor"
    assert_equal "127.0.0.1:#{port}", s.getpeername
    local = client.local_address
    assert_equal "#{local.ip_address}:#{local.ip_port}", s.getsockname
    assert_equal !nonblock, s.blocking?, "adoption did not change the blocking mode"
    client.close # Ruby lets go of the IO; the descriptor is csock's
    assert_equal Csock::SOCK_STREAM, Csock.inspect_fd(fd).type
    s.close
    assert_raises(Errno::EBADF) { Csock.inspect_fd(fd) }
  ensure
    server&.close
  end

  def test_a_generic_socket_and_an_explicit_type
    sock = Socket.new(:INET6, :DGRAM)
    Csock.fromfd(sock) do |s|
      assert_equal [Csock::AF_INET6, Csock::SOCK_DGRAM, Csock::IPPROTO_UDP],
                   [s.family, s.type, s.proto]
    end
    a, b = Socket.pair(:UNIX, :SEQPACKET)
    b.nonblock = true if b.respond_to?(:nonblock=)
    Csock.fromfd(a) do |s|
      assert_equal [Csock::AF_UNIX, Csock::SOCK_SEQPACKET, 0], [s.family, s.type, s.proto]
    end
    Csock.fromfd(b, Csock::AF_UNIX, Csock::SOCK_SEQPACKET | Csock::SOCK_NONBLOCK, 0) do |s|
      assert_equal Csock::SOCK_SEQPACKET, s.type
      assert_equal !Csock.inspect_fd(b).nonblock?, s.blocking?
    end
  ensure
    [sock, a, b].each { |io| io&.close }
  end

  def test_not_a_socket
    File.open(__FILE__) do |f|
      e = assert_raises(Errno::ENOTSOCK) { Csock.adopt(f) }
      assert_match(/ENOTSOCK/, e.message)
      assert f.autoclose?, "a refused IO stays Ruby's"
      refute f.closed?
      assert_equal "#", f.read(1)
    end
  end

  def test_socketpair
    a, b = Csock.socketpair
    assert_equal [Csock::AF_UNIX, Csock::SOCK_STREAM] * 2, [a.family, a.type, b.family, b.type]
    refute a.inheritable? || b.inheritable?
    info = Csock.inspect_fd(a.fd)
    assert info.cloexec? && !info.nonblock? && !info.listening?
  ensure
    a&.close
    b&.close
  end
end
