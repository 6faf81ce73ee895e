// Package split cuts a migration file into statements with exact byte ranges.
// It is a lexer, not a parser: it knows quotes, dollar-quoted bodies, nested
// comments, client commands (DELIMITER, psql backslash commands) and the
// markers migration tools put in comments (goose, dbmate, drizzle).
package split

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// Segment is one statement's source range.
type Segment struct {
	Start, End int  // [Start, End) without the terminator
	Down       bool // inside a goose/dbmate down section
	// Lead is the statement's first keywords, lower-cased and space
	// separated ("create or replace function"), for cheap triage.
	Lead string
	// Block marks a goose StatementBegin/End block, which may hold several
	// statements: its Lead speaks only for the first.
	Block bool
	// Client is set for a client-side command (DELIMITER, \connect) that the
	// server never sees; it names the command.
	Client string
	Err    string // lexical error, e.g. an unterminated quote; reported at ErrAt
	ErrAt  int
	// Near marks a segment next to a directive comment (the one before it
	// or after it), which a directive may apply to.
	Near bool
}

// Markers are the tool annotations found in comments.
type Markers struct {
	Goose           bool // has -- +goose Up/Down
	GooseNoTx       bool // -- +goose NO TRANSACTION
	Dbmate          bool // has -- migrate:up/down
	DbmateUpNoTx    bool // -- migrate:up transaction:false
	DbmateDownNoTx  bool // -- migrate:down transaction:false
	DrizzleBreakpts bool // has --> statement-breakpoint
}

// Result is a split file.
type Result struct {
	Segments []Segment
	Comments []ir.Comment
	Markers  Markers
	Lines    *Lines
}

// Split splits src. MySQL mode adds # comments, backticks and backslash
// escapes in every string; PostgreSQL mode adds dollar quotes, E” strings
// and nested block comments.
func Split(src []byte, engine ir.Engine) *Result {
	res := &Result{}
	r := Scan(src, engine, Options{Emit: func(seg Segment) { res.Segments = append(res.Segments, seg) }})
	r.Segments = res.Segments
	return r
}

// Options direct a Scan.
type Options struct {
	// Emit receives each segment in file order as soon as it is complete,
	// so that a caller can work through a large file without holding all
	// of its segments.
	Emit func(Segment)
	// Directive, when set, keeps only the comments it accepts in the
	// result, and marks the segments next to them Near.
	Directive func(text string) bool
}

// Scan splits src like Split, handing each segment to opt.Emit instead of
// collecting them (the result has no Segments).
func Scan(src []byte, engine ir.Engine, opt Options) *Result {
	return ScanLines(src, engine, NewLines(src), opt)
}

// ScanLines is Scan with the line index already made (Emit may use it).
func ScanLines(src []byte, engine ir.Engine, lines *Lines, opt Options) *Result {
	s := &scanner{src: src, mysql: engine == ir.MySQL, delim: ";", res: &Result{Lines: lines}, opt: opt}
	s.run()
	if s.havePending {
		opt.Emit(s.pending)
	}
	return s.res
}

type scanner struct {
	src   []byte
	mysql bool
	res   *Result
	delim string
	opt   Options
	// The last segment is held back until the next one begins, so that a
	// directive comment after it on its line can still mark it.
	pending     Segment
	havePending bool
	nearNext    bool // a directive comment came after the last segment

	i         int
	start     int  // start of the current statement's first significant byte, -1 if none yet
	lastSig   int  // end of the last significant byte of the current statement
	down      bool // in a down section
	block     bool // inside goose StatementBegin/End
	words     []string
	beginNest int // BEGIN ATOMIC / CASE nesting inside CREATE FUNCTION bodies
	// fromStdin is set in a COPY ... FROM STDIN statement, whose data
	// follows it in a psql script, up to a line \.
	fromStdin bool
	lastWord  string
}

func (s *scanner) run() {
	s.start = -1
	// A UTF-8 byte order mark is not part of the SQL.
	if bytes.HasPrefix(s.src, []byte("\xEF\xBB\xBF")) {
		s.i = 3
	}
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			s.i++
		case c == '-' && s.next() == '-' && (!s.mysql || isSpaceOrEnd(s.peekOr(2, ' '))):
			s.lineComment(2)
		case c == '#' && s.mysql:
			s.lineComment(1)
		case c == '/' && s.next() == '*':
			s.blockComment()
		case s.start < 0 && !s.block && s.atLineStart() && s.clientCommand():
		case !s.block && s.delim != ";" && bytes.HasPrefix(s.src[s.i:], []byte(s.delim)):
			s.terminate(s.i)
			s.i += len(s.delim)
		case c == ';' && !s.block && s.delim == ";" && s.beginNest == 0:
			copyData := s.fromStdin
			s.terminate(s.i)
			s.i++
			if copyData {
				s.skipCopyData()
			}
		case c == '\\' && !s.mysql && !s.block:
			// A psql meta-command in the middle of a line (\gset, \g,
			// \gexec) sends the query before it and runs to the line's end.
			s.terminate(s.i)
			s.clientCommandHere()
		case c == '\'':
			s.mark()
			s.quoted('\'', s.mysql || s.escapeString())
		case c == '"':
			s.mark()
			s.quoted('"', s.mysql)
		case c == '`' && s.mysql:
			s.mark()
			s.quoted('`', false)
		case c == '$' && !s.mysql && s.dollarQuote():
		case isIdentStart(c):
			s.mark()
			s.word()
		default:
			s.mark()
			s.i++
			s.lastSig = s.i
		}
	}
	s.terminate(len(s.src))
}

// next is the byte after the current one, or 0 at the end.
func (s *scanner) next() byte { return s.peekOr(1, 0) }

func (s *scanner) peekOr(n int, def byte) byte {
	if s.i+n < len(s.src) {
		return s.src[s.i+n]
	}
	return def
}

func isSpaceOrEnd(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '$' }

// mark records that the current statement has begun at s.i.
func (s *scanner) mark() {
	if s.start < 0 {
		s.start = s.i
		s.words = s.words[:0]
		s.beginNest = 0
	}
}

func (s *scanner) atLineStart() bool {
	for j := s.i - 1; j >= 0; j-- {
		switch s.src[j] {
		case ' ', '\t':
			continue
		case '\n', '\r':
			return true
		default:
			return false
		}
	}
	return true
}

// terminate closes the current statement at end (exclusive), if it has one.
func (s *scanner) terminate(end int) {
	if s.start < 0 {
		return
	}
	if end > s.lastSig {
		end = s.lastSig
	}
	s.add(Segment{Start: s.start, End: end, Down: s.down, Lead: strings.Join(s.words, " ")})
	s.start = -1
	s.fromStdin = false
}

// add completes a segment: the one held back goes out, this one is held.
func (s *scanner) add(seg Segment) {
	if s.nearNext {
		seg.Near, s.nearNext = true, false
	}
	if s.havePending {
		s.opt.Emit(s.pending)
	}
	s.pending, s.havePending = seg, true
}

// skipCopyData skips the rows psql sends to COPY ... FROM STDIN: every line
// up to one that is \. alone, or the end of the file. They are data, not SQL.
func (s *scanner) skipCopyData() {
	// The data starts on the line after the statement.
	if eol := bytes.IndexByte(s.src[s.i:], '\n'); eol >= 0 {
		s.i += eol + 1
	} else {
		s.i = len(s.src)
		return
	}
	for s.i < len(s.src) {
		eol := bytes.IndexByte(s.src[s.i:], '\n')
		line := s.src[s.i:]
		if eol >= 0 {
			line = line[:eol]
		}
		if string(bytes.TrimRight(line, "\r")) == "\\." {
			s.i += len(line)
			return
		}
		if eol < 0 {
			s.i = len(s.src)
			return
		}
		s.i += eol + 1
	}
}

func (s *scanner) lineComment(open int) {
	start := s.i
	end := bytes.IndexAny(s.src[s.i:], "\r\n") // a lone CR ends a line too
	if end < 0 {
		end = len(s.src)
	} else {
		end += s.i
	}
	s.i = end
	body := strings.TrimRight(string(s.src[start+open:end]), "\r")
	s.addComment(start, end, body)
	s.marker(start, body)
}

func (s *scanner) addComment(start, end int, text string) {
	if s.opt.Directive != nil {
		if !s.opt.Directive(text) {
			return
		}
		// The directive applies to the statement before it on its line, or
		// to the next one.
		if s.havePending {
			s.pending.Near = true
		}
		s.nearNext = true
	}
	s.res.Comments = append(s.res.Comments, ir.Comment{Pos: s.res.Lines.Pos(start), End: s.res.Lines.Pos(end), Text: text})
}

// marker interprets tool annotations in a line comment (the text after "--").
func (s *scanner) marker(at int, body string) {
	t := strings.TrimSpace(body)
	low := strings.ToLower(t)
	switch {
	case strings.HasPrefix(low, "+goose"):
		s.res.Markers.Goose = true
		switch strings.Join(strings.Fields(low[len("+goose"):]), " ") {
		case "up":
			s.terminate(at)
			s.down = false
		case "down":
			s.terminate(at)
			s.down = true
		case "statementbegin":
			s.terminate(at)
			s.block = true
		case "statementend":
			s.block = false
			s.terminateBlock()
		case "no transaction":
			s.res.Markers.GooseNoTx = true
		}
	case strings.HasPrefix(low, "migrate:up"), strings.HasPrefix(low, "migrate:down"):
		s.res.Markers.Dbmate = true
		s.terminate(at)
		s.down = strings.HasPrefix(low, "migrate:down")
		if strings.Contains(low, "transaction:false") {
			if s.down {
				s.res.Markers.DbmateDownNoTx = true
			} else {
				s.res.Markers.DbmateUpNoTx = true
			}
		}
	case strings.HasPrefix(t, "> statement-breakpoint"):
		s.res.Markers.DrizzleBreakpts = true
		s.terminate(at)
	}
}

// terminateBlock ends a goose StatementBegin/End block, dropping one trailing
// semicolon so the block's range matches a plain statement's.
func (s *scanner) terminateBlock() {
	if s.start < 0 {
		return
	}
	end := s.lastSig
	if end > s.start && s.src[end-1] == ';' {
		end--
		for end > s.start && isSpaceOrEnd(s.src[end-1]) {
			end--
		}
	}
	s.lastSig = end
	s.terminate(end)
	if s.havePending && s.pending.End == end {
		s.pending.Block = true
	}
}

func (s *scanner) blockComment() {
	start := s.i
	depth := 0
	for s.i < len(s.src) {
		switch {
		case s.src[s.i] == '/' && s.next() == '*':
			depth++
			s.i += 2
		case s.src[s.i] == '*' && s.next() == '/':
			depth--
			s.i += 2
			if depth == 0 || s.mysql {
				s.addComment(start, s.i, string(s.src[start+2:s.i-2]))
				return
			}
		default:
			s.i++
		}
	}
	s.fail(start, "unterminated /* comment")
}

// fail ends the file: an unterminated construct swallows the rest of it.
func (s *scanner) fail(at int, msg string) {
	if s.start < 0 {
		s.start = at
	}
	s.add(Segment{Start: s.start, End: len(s.src), Down: s.down, Err: msg, ErrAt: at})
	s.start = -1
	s.i = len(s.src)
}

// escapeString reports whether the quote at s.i opens an E” string.
func (s *scanner) escapeString() bool {
	if s.i == 0 || (s.src[s.i-1] != 'E' && s.src[s.i-1] != 'e') {
		return false
	}
	return s.i < 2 || !isIdentChar(s.src[s.i-2])
}

func (s *scanner) quoted(q byte, backslash bool) {
	start := s.i
	s.i++
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case backslash && c == '\\':
			s.i += 2
		case c == q && s.next() == q:
			s.i += 2
		case c == q:
			s.i++
			s.lastSig = s.i
			return
		default:
			s.i++
		}
	}
	kind := map[byte]string{'\'': "quoted string", '"': "quoted identifier", '`': "quoted identifier"}[q]
	s.fail(start, "unterminated "+kind)
}

// dollarQuote consumes a $tag$...$tag$ body if one starts at s.i.
func (s *scanner) dollarQuote() bool {
	if s.i > 0 && isIdentChar(s.src[s.i-1]) {
		return false
	}
	j := s.i + 1
	for j < len(s.src) && s.src[j] != '$' {
		c := s.src[j]
		if !isIdentChar(c) || c == '$' || (j == s.i+1 && c >= '0' && c <= '9') {
			return false
		}
		j++
	}
	if j >= len(s.src) {
		return false
	}
	tag := s.src[s.i : j+1]
	s.mark()
	start := s.i
	end := bytes.Index(s.src[j+1:], tag)
	if end < 0 {
		s.fail(start, fmt.Sprintf("unterminated dollar-quoted string %s", tag))
		return true
	}
	s.i = j + 1 + end + len(tag)
	s.lastSig = s.i
	return true
}

// word consumes an identifier or keyword and tracks BEGIN ... END nesting in
// SQL-standard function bodies (CREATE FUNCTION ... BEGIN ATOMIC ... END),
// the way psql does, so their inner semicolons do not end the statement.
func (s *scanner) word() {
	start := s.i
	for s.i < len(s.src) && isIdentChar(s.src[s.i]) {
		s.i++
	}
	s.lastSig = s.i
	w := strings.ToLower(string(s.src[start:s.i]))
	if len(s.words) < 6 {
		s.words = append(s.words, w)
	}
	if !s.mysql && w == "stdin" && s.lastWord == "from" && len(s.words) > 0 && s.words[0] == "copy" {
		s.fromStdin = true
	}
	s.lastWord = w
	if !s.inRoutine() {
		return
	}
	if len(s.words) == 2 && s.words[0] == "begin" {
		s.beginNest++ // BEGIN NOT ATOMIC: its BEGIN came before the block was known
		return
	}
	switch w {
	case "begin", "case":
		s.beginNest++
	case "end":
		// MySQL's END IF, END LOOP, END WHILE and END REPEAT close blocks
		// that BEGIN did not open.
		if next := s.peekWord(); s.mysql && (next == "if" || next == "loop" || next == "while" || next == "repeat") {
			return
		}
		if s.beginNest > 0 {
			s.beginNest--
		}
	}
}

// peekWord is the next word after s.i, lower-cased, skipping blanks.
func (s *scanner) peekWord() string {
	j := s.i
	for j < len(s.src) && isSpaceOrEnd(s.src[j]) {
		j++
	}
	k := j
	for k < len(s.src) && isIdentChar(s.src[k]) {
		k++
	}
	return strings.ToLower(string(s.src[j:k]))
}

// inRoutine reports whether the statement defines a routine whose body may
// hold semicolons: PostgreSQL's CREATE FUNCTION/PROCEDURE with a BEGIN
// ATOMIC body; MySQL's CREATE [DEFINER = ...] PROCEDURE, FUNCTION, TRIGGER
// or EVENT, and MariaDB's anonymous BEGIN NOT ATOMIC block. A server handed
// the file as one multi-statement query (as Go drivers and most migration
// tools do) parses those bodies whole; only the mysql client needs DELIMITER.
func (s *scanner) inRoutine() bool {
	w := s.words
	if s.mysql && len(w) > 1 && w[0] == "begin" && w[1] == "not" {
		return true
	}
	if len(w) == 0 || w[0] != "create" {
		return false
	}
	if s.mysql {
		for _, x := range w[1:] {
			switch x {
			case "procedure", "function", "trigger", "event":
				return true
			case "table", "index", "view", "database", "schema", "unique":
				return false
			}
		}
		return false
	}
	w = w[1:]
	if len(w) > 1 && w[0] == "or" && w[1] == "replace" {
		w = w[2:]
	}
	return len(w) > 0 && (w[0] == "function" || w[0] == "procedure")
}

// clientCommand consumes a client-side command at the start of a line:
// MySQL's DELIMITER and psql's backslash commands.
func (s *scanner) clientCommand() bool {
	rest := s.src[s.i:]
	eol := bytes.IndexAny(rest, "\r\n")
	if eol < 0 {
		eol = len(rest)
	}
	line := strings.TrimRight(string(rest[:eol]), "\r \t")
	var name string
	switch {
	case len(line) > 10 && strings.EqualFold(line[:10], "delimiter ") && len(strings.Fields(line)) == 2:
		name = "DELIMITER"
		s.delim = strings.Fields(line)[1]
	case strings.HasPrefix(line, "\\"):
		name = strings.Fields(line)[0]
	default:
		return false
	}
	s.add(Segment{Start: s.i, End: s.i + len(line), Down: s.down, Client: name})
	s.i += eol
	return true
}

// clientCommandHere consumes a psql backslash command from s.i to the end
// of the line.
func (s *scanner) clientCommandHere() {
	rest := s.src[s.i:]
	eol := bytes.IndexAny(rest, "\r\n")
	if eol < 0 {
		eol = len(rest)
	}
	line := strings.TrimRight(string(rest[:eol]), " \t")
	name := strings.Fields(line)[0]
	s.add(Segment{Start: s.i, End: s.i + len(line), Down: s.down, Client: name})
	s.i += eol
}

// Lines maps byte offsets to line and column. A line ends at LF, CRLF or a
// lone CR, as editors and PostgreSQL's lexer see it.
type Lines struct {
	src []byte
	// starts are the offsets lines start at: 32 bits each, since no input
	// reaches 4 GiB (the largest max_file_size is 1 GiB).
	starts []uint32
	// The last position returned, so that positions asked in file order
	// count UTF-16 columns from there instead of from the line's start.
	last ir.Pos
}

// NewLines indexes the line starts of src.
func NewLines(src []byte) *Lines {
	n := bytes.Count(src, []byte{'\n'}) + 1
	l := &Lines{src: src, starts: make([]uint32, 1, n+bytes.Count(src, []byte{'\r'})-bytes.Count(src, []byte("\r\n")))}
	for i, c := range src {
		if c == '\n' || c == '\r' && (i+1 == len(src) || src[i+1] != '\n') {
			l.starts = append(l.starts, uint32(i+1))
		}
	}
	return l
}

// Pos returns the position of a byte offset.
func (l *Lines) Pos(off int) ir.Pos {
	lo, hi := 0, len(l.starts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if int(l.starts[mid]) <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	p := ir.Pos{Offset: off, Line: lo + 1, Col: off - int(l.starts[lo]) + 1}
	from, col16 := int(l.starts[lo]), 1
	if l.last.Line == p.Line && l.last.Offset <= off && l.last.Col16 > 0 {
		from, col16 = l.last.Offset, l.last.Col16
	}
	p.Col16 = col16 + utf16Units(l.src[from:min(off, len(l.src))])
	l.last = p
	return p
}

// utf16Units counts the UTF-16 code units of UTF-8 text: one per
// character, two for those beyond the Basic Multilingual Plane, one per
// byte that is not UTF-8 (never more units than bytes).
func utf16Units(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			n, i = n+1, i+1
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		n, i = n+utf16.RuneLen(r), i+size // an invalid byte decodes as U+FFFD: one unit
	}
	return n
}
