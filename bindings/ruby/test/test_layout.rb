# frozen_string_literal: true

# The structs declared by hand in csock.rb have the layout the C compiler gives the header's
# types (printed by bindings/layout.c, built by make as $CSOCK_LAYOUT).
require "minitest/autorun"
require "csock"

class TestLayout < Minitest::Test
  LIB = Csock.const_get(:Lib)
  STRUCTS = { "csock_socket" => LIB::SocketStruct, "csock_info" => LIB::Info,
              "csock_attempt" => LIB::Attempt, "csock_connect_opts" => LIB::ConnectOpts }.freeze

  def test_struct_layouts_match_c
    program = ENV["CSOCK_LAYOUT"]
    skip "CSOCK_LAYOUT is not set" unless program
    compared = 0
    IO.popen([program], &:readlines).each do |line|
      name, what, a, _, b = line.split
      type, field = name.split(".")
      if type == "sockaddr_storage"
        # The attempt's address: it ends where addrlen starts, aligned as the attempt is.
        assert_equal [a.to_i, b.to_i], [LIB::Attempt.offsetof("addrlen"), LIB::Attempt.alignment],
                     line
      elsif (struct = STRUCTS[type]).nil?
        next
      elsif field.nil?
        assert_equal [a.to_i, b.to_i], [struct.size, struct.alignment], line
      else
        assert_equal "offset", what
        assert_equal a.to_i, struct.offsetof(field), line
      end
      compared += 1
    end
    assert_operator compared, :>=, 10
  end
end
