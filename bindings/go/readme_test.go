package csock_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The example of README.md builds and runs as it is, as a module of its own that uses this one
// through a replace directive, and prints what its comment says.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	ck(t).ok(err)
	m := regexp.MustCompile("(?s)```go\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no go example")
	}
	body := string(m[1])
	if !strings.Contains(body, "func main()") {
		t.Fatal("the example is not a program")
	}
	here, err := os.Getwd()
	ck(t).ok(err)
	dir := t.TempDir()
	gomod := "module example\n\ngo 1.19\n\nrequire csock v0.0.0\n\nreplace csock => " + here + "\n"
	ck(t).ok(os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))
	ck(t).ok(os.WriteFile(filepath.Join(dir, "main.go"), []byte(body), 0o644))
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	want := `^<csock fd=\d+, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=0\.0\.0\.0:0> true false\n$`
	if !regexp.MustCompile(want).Match(out) {
		t.Errorf("the example printed %q", out)
	}
}
