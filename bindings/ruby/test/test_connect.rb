# frozen_string_literal: true

# Csock.create_server and Csock.create_connection over loopback: the recorded values, the
# attempt report, blocking mode read back, a refused connection's errno, accept.
require "minitest/autorun"
require "csock"

class TestConnect < Minitest::Test
  def test_a_server_and_a_connection
    Csock.create_server("127.0.0.1", 0) do |server|
      assert_equal [Csock::AF_INET, Csock::SOCK_STREAM, 0],
                   [server.family, server.type, server.proto]
      assert Csock.inspect_fd(server.fd).listening?
      assert server.blocking?
      refute server.inheritable?
      laddr = server.getsockname
      port = laddr[/\A127\.0\.0\.1:(\d+)\z/, 1].to_i
      assert_operator port, :>, 0
      assert server.inspect.end_with?("laddr=#{laddr}>")

      Csock.create_connection("127.0.0.1", port) do |conn|
        assert_equal [Csock::AF_INET, Csock::SOCK_STREAM, Csock::IPPROTO_TCP],
                     [conn.family, conn.type, conn.proto]
        assert_equal laddr, conn.getpeername
        assert conn.blocking?
        assert_equal [Csock::Attempt.new(laddr, Csock::STEP_CONNECT, 0)], conn.attempts
        peer, address = server.accept
        assert_equal conn.getsockname, address
        assert_equal Csock::AF_INET, peer.family
        peer.close
      end

      Csock.create_connection("127.0.0.1", port.to_s, nonblock: true, timeout: 5000) do |conn|
        refute conn.blocking?
        assert_equal Csock::SOCK_STREAM, conn.type
      end
      server.accept.first.close

      Csock.create_connection("localhost", port) do |conn|
        assert_equal 0, conn.attempts.last.errno
        assert_equal laddr, conn.attempts.last.address
      end
    end
  end

  def test_a_closed_port_is_refused_with_the_attempt_reported
    port = Csock.create_server("127.0.0.1", 0) { |s| s.getsockname.split(":").last }
    e = assert_raises(Errno::ECONNREFUSED) { Csock.create_connection("127.0.0.1", port) }
    assert_match(/127\.0\.0\.1:#{port}/, e.message)
    assert_equal 1, e.attempts.size
    assert_equal Errno::ECONNREFUSED, e.attempts[0].error_class
    assert_equal Csock::STEP_CONNECT, e.attempts[0].step
    assert_raises(Errno::EINVAL) { Csock.create_connection("127.0.0.1", 70_000) }
  end

  def test_a_service_the_resolver_does_not_know_no_dns_asked
    e = assert_raises(Csock::ResolverError) do
      Csock.create_connection("127.0.0.1", "no-such-service-csock")
    end
    assert_kind_of SocketError, e
    assert_equal Csock::EAI_SERVICE, e.error_code
    assert_operator e.code, :<=, -4096
    assert_match(/getaddrinfo: EAI_SERVICE/, e.message)
    assert_empty e.attempts
  end

  def test_server_options_and_a_bind_failure
    Csock.create_server("127.0.0.1", 0, nonblock: true, backlog: 4) do |server|
      refute server.blocking?
      port = server.getsockname.split(":").last
      e = assert_raises(Errno::EADDRINUSE) { Csock.create_server("127.0.0.1", port) }
      assert e.message.end_with?("(while attempting to bind on address 127.0.0.1:#{port})")
      assert_raises(Errno::EINVAL) { Csock.create_server("127.0.0.1", 0, dualstack: true) }
    end
  end

  def test_an_af_unix_server_on_an_abstract_name
    name = "@csock-ruby-test-#{Process.pid}"
    Csock.create_server(name, nil, family: Csock::AF_UNIX) do |server|
      assert_equal Csock::AF_UNIX, server.family
      assert_equal name, server.getsockname
    end
  end
end
