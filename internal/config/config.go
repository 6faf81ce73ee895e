// Package config reads .fluxlint.yaml, found by walking up from the
// migrations. Unknown keys are errors that name the key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/fluxlint/fluxlint/internal/atomicfile"
	"github.com/fluxlint/fluxlint/internal/readfile"
	"gopkg.in/yaml.v3"
)

// FileName is the config file's name; AltFileName is read too.
const (
	FileName    = ".fluxlint.yaml"
	AltFileName = ".fluxlint.yml"
)

// Config is the file's content; flags override it.
type Config struct {
	Engine        string            `yaml:"engine"`
	ServerVersion string            `yaml:"server_version"` // "15", "15.4"
	Enable        []string          `yaml:"enable"`         // rule codes or names: only these run (default: every rule)
	Disable       []string          `yaml:"disable"`        // rule codes or names
	Severity      map[string]string `yaml:"severity"`       // code or name -> info|warning|error
	// AssumeLockTimeout declares lock_timeout set outside the migrations
	// (on the role or by the tool), which silences PG113.
	AssumeLockTimeout bool `yaml:"assume_lock_timeout"`
	// Cache keeps each set's replayed history in the user cache directory
	// (as --cache does).
	Cache bool `yaml:"cache"`
	// CodePaths are where to search application code for references to
	// dropped or renamed objects, relative to the config file.
	CodePaths []string `yaml:"code_paths"`
	// Include and Exclude are globs (** spans directories), relative to the
	// config file, that choose which .sql files are migrations at all: an
	// excluded file is neither linted nor replayed.
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
	// Baseline is the version of the last migration already deployed when
	// fluxlint was adopted: migrations up to it are replayed as history and
	// never reported (strong_migrations' start_after).
	Baseline string `yaml:"baseline"`
	// Thresholds change the numbers plans are built with.
	Thresholds Thresholds `yaml:"thresholds"`
	// MaxFileSize is the largest migration read, in bytes or with a unit
	// (512MiB, 1GiB); default readfile.DefaultMax.
	MaxFileSize string `yaml:"max_file_size"`
	MaxBytes    int64  `yaml:"-"` // MaxFileSize parsed; 0 when unset
	// DatabaseURL is a read-only connection for live facts (sizes,
	// version, drift); a password belongs in FLUXLINT_DATABASE_URL instead.
	DatabaseURL string `yaml:"database_url"`
	// Stats is a stats file written by `fluxlint stats export`, relative
	// to the config file: the same facts without a connection.
	Stats string `yaml:"stats"`
	// DeployNotes is the directory, relative to the config file, where
	// `fluxlint fix` writes its deployment notes (default: beside the
	// migration).
	DeployNotes string `yaml:"deploy_notes"`
	Path        string `yaml:"-"` // where it was read from
	// SmallTableBytes is thresholds.small_table_size parsed; 0 when unset.
	SmallTableBytes int64 `yaml:"-"`
}

// Thresholds are the config's plan numbers; unset ones keep the default.
type Thresholds struct {
	LockTimeout *time.Duration `yaml:"lock_timeout"` // e.g. 50ms, 2s
	// LockRetries: retries of a PostgreSQL plan step whose lock_timeout
	// fired, with growing pauses (0 for none).
	LockRetries *int           `yaml:"lock_retries"`
	BatchSize   *int           `yaml:"batch_size"`
	BatchPause  *time.Duration `yaml:"batch_pause"` // e.g. 100ms, or 0s for none
	// SmallTableRows and SmallTableSize: with live facts, a table at or
	// below both is small, and its lock findings drop to info.
	SmallTableRows *int64  `yaml:"small_table_rows"`
	SmallTableSize *string `yaml:"small_table_size"` // e.g. 10MB
}

// Find walks up from start (a file or directory) to the filesystem root and
// loads the first .fluxlint.yaml; it returns an empty config when none exists.
func Find(start string) (*Config, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return &Config{}, nil
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	for {
		p := filepath.Join(dir, FileName)
		alt := filepath.Join(dir, AltFileName)
		_, errMain := os.Lstat(p)
		_, errAlt := os.Lstat(alt)
		switch {
		case errMain == nil && errAlt == nil:
			return nil, fmt.Errorf("both %s and %s exist in %s: keep one", FileName, AltFileName, dir)
		case errAlt == nil:
			p = alt
		}
		if st, err := os.Lstat(p); err == nil {
			if _, err := os.Stat(p); err != nil && st.Mode()&fs.ModeSymlink != 0 {
				target, _ := os.Readlink(p)
				return nil, fmt.Errorf("config %s is a symlink to %s, which cannot be read: %w", p, target, err)
			}
			return Load(p)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return &Config{}, nil
		}
		dir = parent
	}
}

// Load reads one config file.
func Load(path string) (*Config, error) {
	data, err := readfile.Read(path, readfile.SmallMax)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c := &Config{Path: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, suggest(err))
	}
	dir := filepath.Dir(path)
	for _, list := range [][]string{c.CodePaths, c.Include, c.Exclude} {
		for i, p := range list {
			if !filepath.IsAbs(p) {
				list[i] = filepath.Join(dir, p)
			}
		}
	}
	for _, g := range append(slices.Clone(c.Include), c.Exclude...) {
		if !doublestar.ValidatePathPattern(g) {
			return nil, fmt.Errorf("%s: bad glob %q", path, g)
		}
	}
	if c.MaxFileSize != "" {
		if c.MaxBytes, err = ParseSize(c.MaxFileSize); err != nil {
			return nil, fmt.Errorf("%s: max_file_size: %w", path, err)
		}
	}
	t := c.Thresholds
	switch {
	case t.LockTimeout != nil && *t.LockTimeout < time.Millisecond:
		return nil, fmt.Errorf("%s: thresholds: lock_timeout must be at least 1ms (0 would wait forever), not %v", path, *t.LockTimeout)
	case t.LockRetries != nil && (*t.LockRetries < 0 || *t.LockRetries > MaxLockRetries):
		return nil, fmt.Errorf("%s: thresholds: lock_retries must be from 0 to %d, not %d", path, MaxLockRetries, *t.LockRetries)
	case t.BatchSize != nil && (*t.BatchSize < 1 || *t.BatchSize > MaxBatchSize):
		return nil, fmt.Errorf("%s: thresholds: batch_size must be from 1 to %d, not %d", path, MaxBatchSize, *t.BatchSize)
	case t.BatchPause != nil && (*t.BatchPause < 0 || *t.BatchPause > MaxBatchPause):
		return nil, fmt.Errorf("%s: thresholds: batch_pause must be from 0s to %v, not %v", path, MaxBatchPause, *t.BatchPause)
	case t.SmallTableRows != nil && *t.SmallTableRows < 0:
		return nil, fmt.Errorf("%s: thresholds: small_table_rows must be 0 or more, not %d", path, *t.SmallTableRows)
	}
	if t.SmallTableSize != nil {
		if c.SmallTableBytes, err = ParseSize(*t.SmallTableSize); err != nil {
			return nil, fmt.Errorf("%s: thresholds: small_table_size: %w", path, err)
		}
	}
	if c.Stats != "" && !filepath.IsAbs(c.Stats) {
		c.Stats = filepath.Join(filepath.Dir(path), c.Stats)
	}
	if c.DeployNotes != "" && !filepath.IsAbs(c.DeployNotes) {
		c.DeployNotes = filepath.Join(filepath.Dir(path), c.DeployNotes)
	}
	return c, nil
}

// The largest thresholds: a batch size that fits both engines' INT, and a
// pause no plan needs more of. lock_timeout's maximum depends on the engine
// (the caller checks it).
const (
	MaxFileSize   = 1 << 30 // positions are 32-bit offsets
	MaxBatchSize  = 2147483647
	MaxBatchPause = time.Hour
	// MaxLockRetries: past 100 retries of 5 s pauses, a step waits for
	// minutes; that is a migration to run at a quiet time instead.
	MaxLockRetries = 100
)

// ParseSize reads a byte count: a whole number, optionally with a unit (B,
// KB, MB, GB as powers of 1000; KiB, MiB, GiB as powers of 1024).
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		scale  int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	num, scale := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, scale = strings.TrimSpace(rest), u.scale
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > MaxFileSize/scale {
		return 0, fmt.Errorf("want a size from 1 byte to 1GiB such as 512MiB, not %q", s)
	}
	return n * scale, nil
}

// SetBaseline writes baseline into the config file at path, creating the
// file when it does not exist and keeping every other key and comment when
// it does. The file is replaced atomically: a crash leaves the old one.
func SetBaseline(path, baseline string) error {
	var doc yaml.Node
	mode := os.FileMode(0o644)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if st, err := os.Stat(path); err == nil {
			mode = st.Mode().Perm()
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return err
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: the config is not a mapping of keys", path)
	}
	value := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: baseline, Style: yaml.DoubleQuotedStyle}
	replaced := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "baseline" {
			root.Content[i+1], replaced = value, true
		}
	}
	if !replaced {
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "baseline",
			HeadComment: "migrations up to this version are history: replayed, never reported (fluxlint baseline)"}
		root.Content = append(root.Content, key, value)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	return atomicfile.Write(path, buf.Bytes(), mode)
}

// suggest adds, to yaml's "field X not found in type T" errors, the known
// key nearest to the misspelt one.
func suggest(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	known := map[string][]string{}
	for _, t := range []reflect.Type{reflect.TypeOf(Config{}), reflect.TypeOf(Thresholds{})} {
		for i := range t.NumField() {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
				known[t.String()] = append(known[t.String()], tag)
			}
		}
	}
	msgs := slices.Clone(te.Errors)
	for i, m := range msgs {
		_, rest, ok := strings.Cut(m, "field ")
		key, typ, ok2 := strings.Cut(rest, " not found in type ")
		if !ok || !ok2 {
			continue
		}
		best, bestDist := "", 3 // at most two edits away
		for _, k := range known[typ] {
			if d := editDistance(key, k); d < bestDist {
				best, bestDist = k, d
			}
		}
		msgs[i] = fmt.Sprintf("%s: unknown key %q", strings.SplitN(m, ":", 2)[0], key)
		if best != "" {
			msgs[i] += fmt.Sprintf(" (did you mean %s?)", best)
		} else {
			msgs[i] += " (known keys: " + strings.Join(known[typ], ", ") + ")"
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

// editDistance is the Levenshtein distance between two short keys (small
// enough to write here rather than import a library for).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
