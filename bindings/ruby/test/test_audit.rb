# frozen_string_literal: true

# An audit hook written in Ruby sees every creation and refuses the ones it chooses: its number
# is the caller's error, an exception is EPERM.
require "minitest/autorun"
require "socket"
require "csock"

class TestAudit < Minitest::Test
  EVENTS = []
  @refuse = nil # nil: allow; an Integer: return it; :raise: raise
  class << self
    attr_accessor :refuse
  end

  Csock.audit_add do |event, fd, family, type, proto|
    EVENTS << [event, fd, family, type, proto]
    raise "refused by a Ruby exception" if TestAudit.refuse == :raise

    TestAudit.refuse
  end

  def refusing(value)
    TestAudit.refuse = value
    yield
  ensure
    TestAudit.refuse = nil
  end

  def test_the_hook_sees_open_with_defaults_filled_in_and_the_type_as_given
    Csock.open(Csock::AF_INET6, Csock::SOCK_DGRAM | Csock::SOCK_NONBLOCK, &:close)
    assert_equal ["socket.__new__", -1, Csock::AF_INET6,
                  Csock::SOCK_DGRAM | Csock::SOCK_NONBLOCK, 0], EVENTS.last
    Csock.open(&:close)
    assert_equal ["socket.__new__", -1, Csock::AF_INET, Csock::SOCK_STREAM, 0], EVENTS.last
  end

  def test_refusals
    e = refusing(-Errno::EACCES::Errno) { assert_raises(Errno::EACCES) { Csock.open } }
    assert_match(/audit/, e.message)
    refusing(7) { assert_raises(Errno::EPERM) { Csock.open } }
    refusing(:raise) { assert_raises(Errno::EPERM) { Csock.open } }
    Csock.open(&:close)
  end

  def test_adoption_is_seen_with_the_detected_values_and_a_refusal_keeps_the_descriptor
    a, b = Socket.pair(:UNIX, :SEQPACKET)
    count = EVENTS.size
    refusing(-Errno::EACCES::Errno) { assert_raises(Errno::EACCES) { Csock.adopt(a) } }
    assert_equal count + 1, EVENTS.size
    assert_equal ["socket.__new__", a.fileno, Csock::AF_UNIX, Csock::SOCK_SEQPACKET, 0],
                 EVENTS.last
    assert a.autoclose?, "the refused IO stays Ruby's"
    a.write("x")
    assert_equal "x", b.recv(1)
  ensure
    a&.close
    b&.close
  end

  def test_socketpair_one_event_per_end
    count = EVENTS.size
    Csock.socketpair.each(&:close)
    assert_equal count + 2, EVENTS.size
  end

  def test_create_server_refused
    refusing(-Errno::EACCES::Errno) do
      assert_raises(Errno::EACCES) { Csock.create_server("127.0.0.1", 0) }
    end
    assert_equal [Csock::AF_INET, Csock::SOCK_STREAM], EVENTS.last[2, 2]
  end

  def test_create_connection_refused_with_the_attempt_reported
    Csock.create_server("127.0.0.1", 0) do |server|
      port = server.getsockname.split(":").last
      e = refusing(-Errno::EACCES::Errno) do
        assert_raises(Errno::EACCES) { Csock.create_connection("127.0.0.1", port) }
      end
      assert_equal 1, e.attempts.size
      assert_equal Errno::EACCES, e.attempts[0].error_class
      assert_equal Csock::STEP_SOCKET, e.attempts[0].step
      assert_equal [Csock::AF_INET, Csock::SOCK_STREAM, Csock::IPPROTO_TCP], EVENTS.last[2, 3]
    end
  end
end
