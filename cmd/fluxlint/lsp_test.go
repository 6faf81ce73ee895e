package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fluxlint/fluxlint/internal/clients"
)

// lspProject is a migrations directory with history, and a new migration
// whose index is built without CONCURRENTLY.
func lspProject(t *testing.T) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	mig := filepath.Join(dir, "migrations")
	must(t, os.MkdirAll(mig, 0o755))
	must(t, os.WriteFile(filepath.Join(mig, "0001_users.sql"), []byte("CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"), 0o644))
	file = filepath.Join(mig, "0002_index.sql")
	must(t, os.WriteFile(file, []byte("CREATE INDEX users_email_idx ON users (email);\n"), 0o644))
	// A later migration: it must not count as history of 0002.
	must(t, os.WriteFile(filepath.Join(mig, "0003_drop.sql"), []byte("DROP TABLE users;\n"), 0o644))
	return dir, file
}

// rpc is a minimal LSP client over a child's pipes, for the protocol test.
type rpc struct {
	t   *testing.T
	in  io.Writer
	out *bufio.Reader
	id  int
}

func (c *rpc) send(msg map[string]any) {
	c.t.Helper()
	msg["jsonrpc"] = "2.0"
	body, _ := json.Marshal(msg)
	if _, err := fmt.Fprintf(c.in, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rpc) sendRaw(body string) {
	fmt.Fprintf(c.in, "Content-Length: %d\r\n\r\n%s", len(body), body)
}

// read returns the next message.
func (c *rpc) read() map[string]any {
	c.t.Helper()
	n := 0
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading from the server: %v", err)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			n, _ = strconv.Atoi(v)
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.out, body); err != nil {
		c.t.Fatal(err)
	}
	var msg map[string]any
	if err := json.Unmarshal(body, &msg); err != nil {
		c.t.Fatalf("not JSON from the server: %s", body)
	}
	return msg
}

// call sends a request and returns its response, skipping the
// notifications that come before it.
func (c *rpc) call(method string, params any) map[string]any {
	c.t.Helper()
	c.id++
	c.send(map[string]any{"id": c.id, "method": method, "params": params})
	for {
		msg := c.read()
		if id, ok := msg["id"].(float64); ok && int(id) == c.id {
			return msg
		}
	}
}

// diagnostics waits for the next publishDiagnostics notification.
func (c *rpc) diagnostics() []any {
	c.t.Helper()
	for {
		msg := c.read()
		if msg["method"] == "textDocument/publishDiagnostics" {
			return msg["params"].(map[string]any)["diagnostics"].([]any)
		}
	}
}

// TestLSPProtocol drives `fluxlint lsp` over stdio: diagnostics from the
// buffer with the history before it (not the migration after it), hover
// with the plan, a code action that replaces the statement and then leaves
// no diagnostic, and malformed requests and a file outside any migrations
// directory that do not bring the server down.
func TestLSPProtocol(t *testing.T) {
	bin := buildFluxlint(t, t.TempDir())
	dir, file := lspProject(t)
	cmd := exec.Command(bin, "lsp")
	cmd.Dir = dir
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	c := &rpc{t: t, in: stdin, out: bufio.NewReader(stdout)}
	c.call("initialize", map[string]any{"processId": nil, "rootUri": "file://" + dir, "capabilities": map[string]any{}})
	c.send(map[string]any{"method": "initialized", "params": map[string]any{}})
	uri := "file://" + file
	text := "CREATE INDEX users_email_idx ON users (email);\n"
	c.send(map[string]any{"method": "textDocument/didOpen", "params": map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "sql", "version": 1, "text": text}}})
	diags := c.diagnostics()
	var codes []string
	for _, d := range diags {
		codes = append(codes, d.(map[string]any)["code"].(string))
	}
	if strings.Join(codes, " ") != "PG101 PG113" {
		t.Fatalf("want PG101 and its lock_timeout reminder PG113 (users exists in the history; 0003's DROP is not history): %v", diags)
	}
	rng := diags[0].(map[string]any)["range"].(map[string]any)
	if start := rng["start"].(map[string]any); start["line"].(float64) != 0 || start["character"].(float64) != 0 {
		t.Errorf("range starts at %v, want 0:0", start)
	}
	// Hover: the why and the plan's SQL.
	hover := c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 0, "character": 5}})
	contents, _ := json.Marshal(hover["result"])
	if !strings.Contains(string(contents), "CONCURRENTLY") || !strings.Contains(string(contents), "SHARE") {
		t.Errorf("hover lacks the plan or the lock: %s", contents)
	}
	// Malformed requests: an unknown method, bad params, broken JSON.
	c.call("textDocument/nonsense", map[string]any{})
	c.call("textDocument/hover", "not an object")
	c.sendRaw(`{"jsonrpc":"2.0","id":99,"method":`)
	// A file outside any migrations directory is linted alone.
	other := filepath.Join(t.TempDir(), "scratch.sql")
	c.send(map[string]any{"method": "textDocument/didOpen", "params": map[string]any{"textDocument": map[string]any{"uri": "file://" + other, "languageId": "sql", "version": 1, "text": "SELECT 1;\n"}}})
	// Code action: replace the statement, apply it, and the diagnostic goes.
	actions := c.call("textDocument/codeAction", map[string]any{"textDocument": map[string]any{"uri": uri},
		"range": map[string]any{"start": map[string]any{"line": 0, "character": 0}, "end": map[string]any{"line": 0, "character": 0}}, "context": map[string]any{"diagnostics": diags}})
	var replace string
	list, _ := actions["result"].([]any)
	for _, a := range list {
		a := a.(map[string]any)
		if strings.HasPrefix(a["title"].(string), "Replace with the safe statement") {
			edits := a["edit"].(map[string]any)["changes"].(map[string]any)[uri].([]any)
			replace = edits[0].(map[string]any)["newText"].(string)
		}
	}
	if !strings.Contains(replace, "CONCURRENTLY") {
		t.Fatalf("no code action replacing the statement: %v", list)
	}
	c.send(map[string]any{"method": "textDocument/didChange", "params": map[string]any{"textDocument": map[string]any{"uri": uri, "version": 2},
		"contentChanges": []any{map[string]any{"text": replace + ";\n"}}}})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		msg := c.read()
		if msg["method"] != "textDocument/publishDiagnostics" || msg["params"].(map[string]any)["uri"] != uri {
			continue
		}
		p := msg["params"].(map[string]any)
		if v, _ := p["version"].(float64); v == 2 {
			if d := p["diagnostics"].([]any); len(d) != 0 {
				t.Errorf("after the code action: %v, want no diagnostic", d)
			}
			break
		}
	}
	// Still alive and answering.
	if r := c.call("shutdown", nil); r["error"] != nil {
		t.Errorf("shutdown: %v", r["error"])
	}
}

// TestLSPNeovim runs the real client: headless Neovim opens the migration,
// receives the diagnostic, asks for hover and code actions, applies the
// replacement, and the diagnostic disappears.
func TestLSPNeovim(t *testing.T) {
	nvim := clients.Program(t, "nvim")
	bin := buildFluxlint(t, t.TempDir())
	dir, file := lspProject(t)
	result := filepath.Join(t.TempDir(), "result.json")
	script := filepath.Join(t.TempDir(), "client.lua")
	must(t, os.WriteFile(script, []byte(fmt.Sprintf(neovimScript, bin, dir, file, result)), 0o644))
	cmd := exec.Command(nvim, "--headless", "-u", "NONE", "-i", "NONE", "-c", "luafile "+script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	data, rerr := os.ReadFile(result)
	if err != nil || rerr != nil {
		t.Fatalf("nvim: %v %v\n%s", err, rerr, out)
	}
	var got struct {
		Before []string `json:"before"`
		Hover  string   `json:"hover"`
		Action string   `json:"action"`
		After  []string `json:"after"`
	}
	must(t, json.Unmarshal(data, &got))
	if strings.Join(got.Before, " ") != "PG101 PG113" {
		t.Errorf("diagnostics on open: %v, want PG101 and PG113", got.Before)
	}
	if !strings.Contains(got.Hover, "CONCURRENTLY") {
		t.Errorf("hover: %q", got.Hover)
	}
	if !strings.HasPrefix(got.Action, "Replace with the safe statement") {
		t.Errorf("code action: %q", got.Action)
	}
	if len(got.After) != 0 {
		t.Errorf("diagnostics after applying the action: %v, want none", got.After)
	}
}

// neovimScript is the Lua that drives Neovim's built-in LSP client (0.7
// API: start_client and buf_attach_client).
const neovimScript = `
local bin, root, file, result = %q, %q, %q, %q
local out = {before = {}, after = {}, hover = "", action = ""}
local function codes()
  local c = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do table.insert(c, d.code) end
  return c
end
local function finish()
  local f = io.open(result, "w")
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd("qa!")
end
local ok, err = pcall(function()
  vim.cmd("edit " .. file)
  local client = vim.lsp.start_client({name = "fluxlint", cmd = {bin, "lsp"}, root_dir = root})
  vim.lsp.buf_attach_client(0, client)
  vim.wait(20000, function() return #vim.diagnostic.get(0) > 0 end, 50)
  out.before = codes()
  local params = {textDocument = {uri = vim.uri_from_bufnr(0)}, position = {line = 0, character = 3}}
  local hover = vim.lsp.buf_request_sync(0, "textDocument/hover", params, 10000)
  for _, r in pairs(hover or {}) do
    if r.result then out.hover = r.result.contents.value end
  end
  local ctx = {diagnostics = vim.lsp.diagnostic.get_line_diagnostics and vim.lsp.diagnostic.get_line_diagnostics(0, 0) or {}}
  local actions = vim.lsp.buf_request_sync(0, "textDocument/codeAction", {textDocument = {uri = vim.uri_from_bufnr(0)},
    range = {start = {line = 0, character = 0}, ["end"] = {line = 0, character = 0}}, context = ctx}, 10000)
  for _, r in pairs(actions or {}) do
    for _, a in ipairs(r.result or {}) do
      if a.edit and out.action == "" then
        out.action = a.title
        vim.lsp.util.apply_workspace_edit(a.edit, "utf-16")
      end
    end
  end
  vim.wait(20000, function() return #vim.diagnostic.get(0) == 0 end, 50)
  out.after = codes()
end)
if not ok then out.error = tostring(err) end
finish()
`

// TestLSPFixCommand: the "write the plan as migration files" code action's
// command writes the files, as fluxlint fix --write does.
func TestLSPFixCommand(t *testing.T) {
	bin := buildFluxlint(t, t.TempDir())
	dir := t.TempDir()
	mig := filepath.Join(dir, "migrations")
	must(t, os.MkdirAll(mig, 0o755))
	must(t, os.WriteFile(filepath.Join(mig, "0001_users.sql"), []byte("CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"), 0o644))
	file := filepath.Join(mig, "0002_index.sql")
	text := "CREATE INDEX users_email_idx ON users (email);\n"
	must(t, os.WriteFile(file, []byte(text), 0o644))
	cmd := exec.Command(bin, "lsp")
	cmd.Dir = dir
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	must(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	c := &rpc{t: t, in: stdin, out: bufio.NewReader(stdout)}
	c.call("initialize", map[string]any{"processId": nil, "rootUri": "file://" + dir, "capabilities": map[string]any{}})
	uri := "file://" + file
	c.send(map[string]any{"method": "textDocument/didOpen", "params": map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "sql", "version": 1, "text": text}}})
	c.diagnostics()
	actions := c.call("textDocument/codeAction", map[string]any{"textDocument": map[string]any{"uri": uri},
		"range": map[string]any{"start": map[string]any{"line": 0, "character": 0}, "end": map[string]any{"line": 0, "character": 0}}, "context": map[string]any{"diagnostics": []any{}}})
	var command map[string]any
	for _, a := range actions["result"].([]any) {
		if cmd, ok := a.(map[string]any)["command"].(map[string]any); ok {
			command = cmd
		}
	}
	if command == nil {
		t.Fatalf("no command action: %v", actions["result"])
	}
	r := c.call("workspace/executeCommand", map[string]any{"command": command["command"], "arguments": command["arguments"]})
	if r["error"] != nil {
		t.Fatalf("executeCommand: %v", r["error"])
	}
	written, _ := os.ReadFile(file)
	if !strings.Contains(string(written), "CONCURRENTLY") {
		t.Errorf("the migration was not rewritten by the command:\n%s", written)
	}
	if _, err := os.Stat(filepath.Join(mig, "0002_index.deploy.md")); err != nil {
		t.Errorf("no deployment note: %v", err)
	}
}
