// Package lsp is fluxlint's language server: diagnostics for SQL migration
// files as they are edited, the finding's why and plan on hover, and code
// actions (replace the statement by a one-step plan, add an ignore
// directive, write the plan as migration files). It speaks the protocol
// through github.com/tliron/glsp, the maintained Go LSP SDK the module
// proxy serves, so no part of the protocol is written by hand here.
package lsp

import (
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"
	"github.com/tliron/glsp/server"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/rules"
)

// Linter lints a buffer of the migration at path, with the code search
// when search is set (it is slower: the server runs it after the quick
// lint, in the background).
type Linter func(path string, src []byte, search bool) (*lint.Result, error)

// Fixer writes the plans for the migration at path as migration files
// (fluxlint fix --write), returning what it wrote.
type Fixer func(path string) (string, error)

// Server holds the open documents and their latest findings.
type Server struct {
	lint     Linter
	fix      Fixer
	debounce time.Duration

	mu      sync.Mutex
	docs    map[string]*document // by URI
	handler protocol.Handler
}

type document struct {
	path     string
	text     string
	version  int32
	findings []*rules.Finding
	timer    *time.Timer
}

// New makes a server.
func New(l Linter, f Fixer) *Server {
	s := &Server{lint: l, fix: f, debounce: 300 * time.Millisecond, docs: map[string]*document{}}
	s.handler = protocol.Handler{
		Initialize:              s.initialize,
		Initialized:             func(*glsp.Context, *protocol.InitializedParams) error { return nil },
		Shutdown:                func(*glsp.Context) error { return nil },
		SetTrace:                func(*glsp.Context, *protocol.SetTraceParams) error { return nil },
		TextDocumentDidOpen:     s.didOpen,
		TextDocumentDidChange:   s.didChange,
		TextDocumentDidSave:     s.didSave,
		TextDocumentDidClose:    s.didClose,
		TextDocumentHover:       s.hover,
		TextDocumentCodeAction:  s.codeAction,
		WorkspaceExecuteCommand: s.executeCommand,
	}
	return s
}

// RunStdio serves on stdin and stdout until the client exits.
func (s *Server) RunStdio() error {
	if err := guardStdin(); err != nil {
		return err
	}
	return server.NewServer(&s.handler, "fluxlint", false).RunStdio()
}

// fixCommand is the command of the "write the plan as files" action.
const fixCommand = "fluxlint.fix"

func (s *Server) initialize(_ *glsp.Context, _ *protocol.InitializeParams) (any, error) {
	caps := s.handler.CreateServerCapabilities()
	full := protocol.TextDocumentSyncKindFull
	if opts, ok := caps.TextDocumentSync.(*protocol.TextDocumentSyncOptions); ok {
		opts.Change = &full
		opts.Save = &protocol.SaveOptions{}
	}
	caps.ExecuteCommandProvider = &protocol.ExecuteCommandOptions{Commands: []string{fixCommand}}
	name := "fluxlint"
	return protocol.InitializeResult{Capabilities: caps, ServerInfo: &protocol.InitializeResultServerInfo{Name: name}}, nil
}

// pathOf turns a file URI into a path ("" for other schemes).
func pathOf(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	return filepath.FromSlash(u.Path)
}

func (s *Server) didOpen(ctx *glsp.Context, p *protocol.DidOpenTextDocumentParams) error {
	s.mu.Lock()
	d := &document{path: pathOf(p.TextDocument.URI), text: p.TextDocument.Text, version: p.TextDocument.Version}
	s.docs[p.TextDocument.URI] = d
	s.mu.Unlock()
	s.check(ctx, p.TextDocument.URI)
	return nil
}

func (s *Server) didChange(ctx *glsp.Context, p *protocol.DidChangeTextDocumentParams) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[p.TextDocument.URI]
	if d == nil {
		return nil
	}
	for _, c := range p.ContentChanges {
		if whole, ok := c.(protocol.TextDocumentContentChangeEventWhole); ok {
			d.text = whole.Text
		}
	}
	d.version = p.TextDocument.Version
	// Debounced: lint once the typing pauses.
	if d.timer != nil {
		d.timer.Stop()
	}
	uri := p.TextDocument.URI
	d.timer = time.AfterFunc(s.debounce, func() { s.check(ctx, uri) })
	return nil
}

func (s *Server) didSave(ctx *glsp.Context, p *protocol.DidSaveTextDocumentParams) error {
	s.check(ctx, p.TextDocument.URI)
	return nil
}

func (s *Server) didClose(ctx *glsp.Context, p *protocol.DidCloseTextDocumentParams) error {
	s.mu.Lock()
	delete(s.docs, p.TextDocument.URI)
	s.mu.Unlock()
	ctx.Notify(protocol.ServerTextDocumentPublishDiagnostics, protocol.PublishDiagnosticsParams{URI: p.TextDocument.URI, Diagnostics: []protocol.Diagnostic{}})
	return nil
}

// check lints the document now, publishes, then runs the code search in
// the background and publishes again if the document has not changed.
func (s *Server) check(ctx *glsp.Context, uri string) {
	s.mu.Lock()
	d := s.docs[uri]
	if d == nil || d.path == "" || !strings.EqualFold(filepath.Ext(d.path), ".sql") {
		s.mu.Unlock()
		return
	}
	path, text, version := d.path, d.text, d.version
	s.mu.Unlock()
	publish := func(search bool) bool {
		res, err := s.safeLint(path, []byte(text), search)
		if err != nil {
			return false
		}
		s.mu.Lock()
		d := s.docs[uri]
		if d == nil || d.version != version {
			s.mu.Unlock()
			return false // edited meanwhile: a newer check follows
		}
		d.findings = nil
		for _, f := range res.Findings {
			if samePath(f.Path, path) {
				d.findings = append(d.findings, f)
			}
		}
		diags := diagnostics(d.findings)
		s.mu.Unlock()
		v := protocol.UInteger(version)
		ctx.Notify(protocol.ServerTextDocumentPublishDiagnostics, protocol.PublishDiagnosticsParams{URI: uri, Version: &v, Diagnostics: diags})
		return true
	}
	if publish(false) {
		go publish(true)
	}
}

// safeLint runs the linter; a panic in it (the code search on a strange
// tree) is an error for this check, never the end of the server.
func (s *Server) safeLint(path string, src []byte, search bool) (res *lint.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("internal error linting %s: %v", path, r)
		}
	}()
	return s.lint(path, src, search)
}

func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// position is a finding's position in the protocol's terms: 0-based line,
// UTF-16 units (the positions carry their UTF-16 column).
func position(p ir.Pos) protocol.Position {
	return protocol.Position{Line: uint32(max(p.Line-1, 0)), Character: uint32(max(p.Col16-1, 0))}
}

func rangeOf(f *rules.Finding) protocol.Range {
	return protocol.Range{Start: position(f.Pos), End: position(f.End)}
}

func diagnostics(fs []*rules.Finding) []protocol.Diagnostic {
	out := []protocol.Diagnostic{}
	src := "fluxlint"
	for _, f := range fs {
		sev := map[rules.Severity]protocol.DiagnosticSeverity{rules.Error: protocol.DiagnosticSeverityError, rules.Warning: protocol.DiagnosticSeverityWarning, rules.Info: protocol.DiagnosticSeverityInformation}[f.Severity]
		out = append(out, protocol.Diagnostic{Range: rangeOf(f), Severity: &sev, Code: &protocol.IntegerOrString{Value: f.Rule.Code},
			Source: &src, Message: f.Labelled()})
	}
	return out
}

// at lists the document's findings whose range holds the position.
func (s *Server) at(uri string, pos protocol.Position) (*document, []*rules.Finding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[uri]
	if d == nil {
		return nil, nil
	}
	var out []*rules.Finding
	for _, f := range d.findings {
		r := rangeOf(f)
		if !before(pos, r.Start) && !before(r.End, pos) {
			out = append(out, f)
		}
	}
	return d, out
}

func before(a, b protocol.Position) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Character < b.Character
}

func (s *Server) hover(_ *glsp.Context, p *protocol.HoverParams) (*protocol.Hover, error) {
	_, fs := s.at(p.TextDocument.URI, p.Position)
	if len(fs) == 0 {
		return nil, nil
	}
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "**%s %s** (%s)\n\n%s\n\n", f.Rule.Code, f.Rule.Name, f.Severity, f.Labelled())
		if f.Rule.Doc.Why != "" {
			fmt.Fprintf(&b, "%s\n\n", f.Rule.Doc.Why)
		}
		if c := f.Claim; c != nil && c.Lock != "" {
			what := "Lock"
			if c.Held {
				what = "Lock the transaction holds meanwhile"
			}
			fmt.Fprintf(&b, "%s: %s on %s (%s)\n\n", what, c.Lock, c.Table, rules.LockEffect(c.Lock))
		}
		if pl := f.Plan; pl != nil {
			fmt.Fprintf(&b, "**Plan: %s**\n\n", pl.Title)
			for i, st := range pl.Steps {
				fmt.Fprintf(&b, "%d. [%s] %s\n", i+1, st.Kind, st.Title)
				if st.Forward != "" {
					fmt.Fprintf(&b, "\n```sql\n%s\n```\n", strings.TrimSpace(st.ForwardSQL()))
				}
			}
			b.WriteString("\n")
		}
	}
	return &protocol.Hover{Contents: protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: b.String()}}, nil
}

func (s *Server) codeAction(_ *glsp.Context, p *protocol.CodeActionParams) (any, error) {
	d, fs := s.at(p.TextDocument.URI, p.Range.Start)
	if d == nil {
		return []protocol.CodeAction{}, nil
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Severity > fs[j].Severity })
	quick := protocol.CodeActionKindQuickFix
	actions := []protocol.CodeAction{}
	edit := func(r protocol.Range, text string) *protocol.WorkspaceEdit {
		return &protocol.WorkspaceEdit{Changes: map[string][]protocol.TextEdit{p.TextDocument.URI: {{Range: r, NewText: text}}}}
	}
	hasPlan := false
	for _, f := range fs {
		if f.Rewrite != "" {
			preferred := true
			actions = append(actions, protocol.CodeAction{Title: fmt.Sprintf("Replace with the safe statement (%s)", f.Rule.Code), Kind: &quick,
				IsPreferred: &preferred, Edit: edit(rangeOf(f), f.Rewrite)})
		}
		line := protocol.Position{Line: uint32(max(f.Pos.Line-1, 0))}
		actions = append(actions, protocol.CodeAction{Title: fmt.Sprintf("Ignore %s here (give the reason)", f.Rule.Code), Kind: &quick,
			Edit: edit(protocol.Range{Start: line, End: line}, fmt.Sprintf("-- fluxlint:ignore %s REASON\n", f.Rule.Code))})
		hasPlan = hasPlan || f.Plan != nil && len(f.Plan.Steps) > 1
	}
	if hasPlan && s.fix != nil {
		actions = append(actions, protocol.CodeAction{Title: "Write the plan as migration files (fluxlint fix --write)",
			Command: &protocol.Command{Title: "fluxlint fix --write", Command: fixCommand, Arguments: []any{d.path}}})
	}
	return actions, nil
}

func (s *Server) executeCommand(ctx *glsp.Context, p *protocol.ExecuteCommandParams) (any, error) {
	if p.Command != fixCommand || len(p.Arguments) != 1 || s.fix == nil {
		return nil, fmt.Errorf("unknown command %s", p.Command)
	}
	path, ok := p.Arguments[0].(string)
	if !ok {
		return nil, fmt.Errorf("%s takes a path", fixCommand)
	}
	out, err := s.fix(path)
	if err != nil {
		return nil, err
	}
	ctx.Notify(protocol.ServerWindowShowMessage, protocol.ShowMessageParams{Type: protocol.MessageTypeInfo, Message: out})
	return out, nil
}
