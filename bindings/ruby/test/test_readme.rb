# frozen_string_literal: true

# The example of README.md runs as it is and prints what its comments say.
require "minitest/autorun"
require "open3"
require "rbconfig"

class TestReadme < Minitest::Test
  DIR = File.expand_path("..", __dir__)

  def test_the_example_runs
    code = File.read(File.join(DIR, "README.md"))[/```ruby\n(.*?)```/m, 1]
    refute_nil code, "README.md has a ruby example"
    assert_equal 5, code.lines.size, "five lines"
    out, status = Open3.capture2e(RbConfig.ruby, "-I", File.join(DIR, "lib"), "-e", code)
    assert status.success?, out
    repr = /<csock fd=\d+, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=0\.0\.0\.0:0>/
    assert_match(/\A#{repr}\ntrue\nfalse\n\z/, out)
  end
end
