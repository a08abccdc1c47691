package readme

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	// The OpenTelemetry snippet's package: imported here so that this module requires it.
	_ "github.com/jwtexp/jwtexp/otelmetrics"
)

// snippet is what a README block needs around it to compile: the imports it uses (besides those
// it writes itself) and declarations standing in for the reader's own code. A block made of
// separate alternatives (one per framework) is split at blank lines, each part in a function of
// its own, so that the same name may be declared in each.
type snippet struct {
	imports []string
	stubs   string
	split   bool
}

// commonStubs stand in for what the README assumes the reader has.
const commonStubs = `
var accessSecret, refreshSecret []byte
var m *core.Manager
var t *testing.T // the snippets that show a test's body
`

// snippets has one entry per ```go block of README.md, in order.
var snippets = []snippet{
	{ // quick start, net/http
		imports: []string{"fmt", "log", "net/http", "github.com/jwtexp/jwtexp/core", "github.com/jwtexp/jwtexp/nethttpjwt"},
		stubs:   "func checkPassword(*http.Request) struct{ ID string } { return struct{ ID string }{} }",
	},
	{ // Gin, Echo v4, Fiber v2
		imports: []string{"github.com/gin-gonic/gin", "github.com/labstack/echo/v4", "github.com/gofiber/fiber/v2",
			"github.com/jwtexp/jwtexp/ginjwt", "github.com/jwtexp/jwtexp/echojwt", "github.com/jwtexp/jwtexp/fiberjwt"},
		split: true,
	},
	{ // Echo v5
		imports: []string{"net/http", "github.com/labstack/echo/v5", "github.com/jwtexp/jwtexp/echo5jwt"},
		stubs:   "type Profile struct{ Role string }",
	},
	{ // Fiber v3
		imports: []string{"github.com/gofiber/fiber/v3", "github.com/jwtexp/jwtexp/fiber3jwt"},
	},
	{ // Redis store (writes its own imports)
		imports: []string{"log"},
	},
	{ // your own store's conformance test (writes its own imports)
		imports: []string{"time"},
		stubs: `
func newTestStore(*testing.T, func() time.Time) core.Store { return nil }
`,
	},
	{ // key rotation
		imports: []string{"time", "github.com/jwtexp/jwtexp/core"},
		stubs: `
var kek []byte
var store core.Store
`,
	},
	{ // login with your user store
		imports: []string{"context", "errors", "net/http", "github.com/jwtexp/jwtexp/core", "github.com/jwtexp/jwtexp/nethttpjwt"},
		stubs: `
var mux *http.ServeMux
var ErrNoSuchUser = errors.New("no such user")
type userRecord struct{ ID, Role, Scopes string }
func (userRecord) PasswordMatches(string) bool { return false }
type userStore struct{}
func (userStore) Find(context.Context, string) (userRecord, error) { return userRecord{}, nil }
var users userStore
`,
	},
	{ // tokens from identity providers
		imports: []string{"context", "log", "net/http", "slices", "time", "github.com/jwtexp/jwtexp/core",
			"github.com/jwtexp/jwtexp/core/jwks", "github.com/jwtexp/jwtexp/nethttpjwt"},
		stubs: "var me, orders, admin http.Handler",
	},
	{ // sessions
		imports: []string{"context", "net/http", "github.com/jwtexp/jwtexp/core"},
		stubs: `
var ctx context.Context
var user, id string
var r *http.Request
var claims *core.Claims
`,
	},
	{ // sender-constrained tokens: DPoP
		imports: []string{"github.com/jwtexp/jwtexp/core"},
	},
	{ // sender-constrained tokens: cookie-only mode
		imports: []string{"log", "github.com/jwtexp/jwtexp/core"},
	},
	{ // gRPC and Connect
		imports: []string{"context", "net/http", "strings", "connectrpc.com/connect", "google.golang.org/grpc",
			"github.com/jwtexp/jwtexp/core", "github.com/jwtexp/jwtexp/grpcjwt", "github.com/jwtexp/jwtexp/grpcjwt/authv1grpc",
			"github.com/jwtexp/jwtexp/connectjwt"},
		stubs: "func checkCredentials(ctx context.Context, username, password string) (string, any, error) { return \"\", nil, nil }",
	},
	{ // long-lived connections: Bind (r and claims are the sessions block's)
		imports: []string{"context"},
	},
	{ // long-lived connections: Events and wsjwt (mux is the login block's)
		imports: []string{"context", "net/http", "time", "github.com/jwtexp/jwtexp/core",
			"github.com/jwtexp/jwtexp/nethttpjwt", "github.com/jwtexp/jwtexp/wsjwt"},
		stubs: `
var mw func(http.Handler) http.Handler
var serveSocket wsjwt.ServeFunc
`,
	},
	{ // Go client
		imports: []string{"errors", "log", "github.com/jwtexp/jwtexp/jwtclient"},
		stubs: `
func save(jwtclient.Token) {}
func load() (jwtclient.Token, bool) { return jwtclient.Token{}, false }
`,
	},
	{ // test kit
		imports: []string{"net/http", "net/http/httptest", "time", "github.com/jwtexp/jwtexp/core",
			"github.com/jwtexp/jwtexp/jwtexptest", "github.com/jwtexp/jwtexp/nethttpjwt"},
		stubs: `
var meHandler http.Handler
`,
	},
	{ // Prometheus
		imports: []string{"github.com/prometheus/client_golang/prometheus", "github.com/jwtexp/jwtexp/core", "github.com/jwtexp/jwtexp/prommetrics"},
	},
	{ // OpenTelemetry
		imports: []string{"github.com/jwtexp/jwtexp/core", "github.com/jwtexp/jwtexp/otelmetrics"},
	},
}

var goBlock = regexp.MustCompile("(?ms)^```go\n(.*?)^```")

// TestREADMESnippets builds one package holding every Go block of README.md, each inside a
// function, and fails with the compiler's message when one no longer compiles: a renamed option,
// a changed signature, a missing import path.
func TestREADMESnippets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package with the go command")
	}
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlock.FindAllSubmatch(readme, -1)
	if len(blocks) != len(snippets) {
		t.Fatalf("README.md has %d Go blocks, this test knows %d: add or remove an entry of snippets", len(blocks), len(snippets))
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("testdata", "snippets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// One file per block: imports are per file, so Echo v4 and v5 (or Fiber v2 and v3) can both
	// be "echo" (or "fiber").
	files := map[string]string{"common.go": "package snippets\n\nimport (\n\t\"testing\"\n\n\t\"github.com/jwtexp/jwtexp/core\"\n)\n" + commonStubs}
	for i, b := range blocks {
		code, own := splitImports(string(b[1]))
		var src strings.Builder
		src.WriteString("package snippets\n\nimport (\n")
		for _, p := range append(own, snippets[i].imports...) {
			fmt.Fprintf(&src, "\t%q\n", p)
		}
		src.WriteString(")\n" + snippets[i].stubs + "\n")
		parts := []string{code}
		if snippets[i].split {
			parts = strings.Split(code, "\n\n")
		}
		for j, part := range parts {
			body, err := useDeclared(part)
			if err != nil {
				t.Fatalf("README block %d does not parse: %v\n%s", i+1, err, part)
			}
			fmt.Fprintf(&src, "\nfunc block%d_%d() {\n%s\n}\n", i+1, j, body)
		}
		files[fmt.Sprintf("block%d.go", i+1)] = src.String()
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("go", "build", "-o", os.DevNull, "./"+dir).CombinedOutput()
	if err != nil {
		var all strings.Builder
		for name, src := range files {
			fmt.Fprintf(&all, "--- %s\n%s", name, numbered(src))
		}
		t.Fatalf("the README's Go snippets do not compile (README block N is blockN.go):\n%s\n%s", out, all.String())
	}
}

// splitImports removes an import block a snippet writes itself and returns its paths.
func splitImports(code string) (string, []string) {
	rest, ok := strings.CutPrefix(code, "import (\n")
	if !ok {
		return code, nil
	}
	block, after, _ := strings.Cut(rest, ")\n")
	var paths []string
	for _, line := range strings.Split(block, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			paths = append(paths, strings.Trim(line, `"`))
		}
	}
	return after, paths
}

// useDeclared appends "_ = name" for every variable the snippet declares, so that a snippet may
// show a result without using it.
func useDeclared(code string) (string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\nfunc _() {\n"+code+"\n}", 0)
	if err != nil {
		return "", err
	}
	seen := map[string]bool{}
	var names []string
	// Top-level statements only: names declared in an if, a for or a handler are that
	// block's business, and out of scope here.
	for _, stmt := range f.Decls[0].(*ast.FuncDecl).Body.List {
		if n, ok := stmt.(*ast.AssignStmt); ok && n.Tok == token.DEFINE {
			for _, l := range n.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name != "_" && !seen[id.Name] {
					seen[id.Name] = true
					names = append(names, id.Name)
				}
			}
		}
	}
	for _, n := range names {
		code += "\n_ = " + n
	}
	return code, nil
}

func numbered(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(s, "\n") {
		fmt.Fprintf(&b, "%4d %s\n", i+1, l)
	}
	return b.String()
}
