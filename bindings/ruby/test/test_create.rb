# frozen_string_literal: true

# Csock.open with defaults and flags, the recorded values, state read back from the kernel,
# errors as Errno exceptions, constants by name, repr, and the finalizer.
require "minitest/autorun"
require "csock"

class TestCreate < Minitest::Test
  def test_defaults
    s = Csock.open
    assert_operator s.fd, :>=, 0
    assert_equal [Csock::AF_INET, Csock::SOCK_STREAM, 0], [s.family, s.type, s.proto]
    assert s.blocking?
    refute s.inheritable?
    assert Csock.inspect_fd(s.fd).cloexec?
    assert_equal "<csock fd=#{s.fd}, family=AF_INET, type=SOCK_STREAM, proto=0, " \
                 "laddr=0.0.0.0:0>", s.inspect
    fd = s.fd
    s.close
    assert_equal(-1, s.fd)
    assert s.closed?
    assert_raises(Errno::EBADF) { Csock.inspect_fd(fd) }
    s.close # a no-op
    assert_equal "<csock [closed] fd=-1, family=AF_INET, type=SOCK_STREAM, proto=0>", s.to_s
    assert_raises(Errno::EBADF) { s.blocking? }
  end

  def test_nonblock_is_recorded_without_the_flag
    Csock.open(Csock::AF_INET, Csock::SOCK_STREAM | Csock::SOCK_NONBLOCK) do |s|
      assert_equal Csock::SOCK_STREAM, s.type
      refute s.blocking?
      assert Csock.inspect_fd(s.fd).nonblock?
      s.blocking = true
      assert s.blocking?
      refute Csock.inspect_fd(s.fd).nonblock?
    end
  end

  def test_block_form_closes
    fd = Csock.open { |s| s.fd }
    assert_raises(Errno::EBADF) { Csock.inspect_fd(fd) }
  end

  def test_inet6_dgram_and_dup
    type = Csock::SOCK_DGRAM | Csock::SOCK_NONBLOCK | Csock::SOCK_CLOEXEC
    Csock.open(Csock::AF_INET6, type) do |s|
      assert_equal [Csock::AF_INET6, Csock::SOCK_DGRAM, 0], [s.family, s.type, s.proto]
      refute s.blocking?
      assert_match(/family=AF_INET6, type=SOCK_DGRAM, proto=0/, s.inspect)
      d = s.dup
      refute_equal s.fd, d.fd
      assert_equal [s.family, s.type, s.proto], [d.family, d.type, d.proto]
      refute d.inheritable?
      d.inheritable = true
      assert d.inheritable?
      d.close
    end
  end

  def test_errors_are_errno_exceptions_with_the_message
    e = assert_raises(Errno::EAFNOSUPPORT) { Csock.open(12_345) }
    assert_equal Errno::EAFNOSUPPORT::Errno, e.errno
    assert_match(/csock_open.*EAFNOSUPPORT/, e.message)
    assert e.message.end_with?(Csock.last_error)
    assert_raises(Errno::EINVAL) { Csock.open(Csock::AF_INET, 999) }
    e = assert_raises(Errno::EBADF) { Csock.adopt(-7) }
    assert_match(/csock_adopt\(fd=-7\)/, e.message)
  end

  def test_constants_by_name
    assert_equal 2048, Csock::SOCK_NONBLOCK
    assert_equal 1, Csock::AF_UNIX
    assert_equal 6, Csock.constant(:IPPROTO_TCP)
    assert_raises(Errno::ENOENT) { Csock.constant("AF_NOPE") }
    assert_raises(NameError) { Csock::AF_NOPE }
    assert_equal "AF_INET6", Csock.family_name(Csock::AF_INET6)
    assert_equal "SOCK_DGRAM", Csock.type_name(Csock::SOCK_DGRAM | Csock::SOCK_NONBLOCK)
    assert_nil Csock.family_name(4242)
  end

  def test_constants_wider_than_int_are_exact
    assert_equal 0x80000000, Csock.constant("CAN_EFF_FLAG")
    assert_equal 0xffffffff, Csock.constant("INADDR_NONE")
  end

  def test_version_and_has
    assert_match(/\A\d+\.\d+\.\d+\z/, Csock.version)
    assert Csock.has?("csock_create_connection")
    refute Csock.has?("csock_nope")
  end

  def test_the_garbage_collector_closes_an_unclosed_socket_not_a_detached_one
    fds = Array.new(20) { Csock.open.fd } # unreferenced at once
    detached = Csock.open.detach
    4.times { GC.start(full_mark: true, immediate_sweep: true) }
    closed = fds.count do |fd|
      Csock.inspect_fd(fd)
      false
    rescue Errno::EBADF
      true
    end
    # A conservative collector may keep one that a register still points to: most are closed.
    assert_operator closed, :>=, 15, "#{closed} of 20 collected sockets closed"
    assert_equal Csock::AF_INET, Csock.inspect_fd(detached).family
    Csock.adopt(detached).close
  end
end
