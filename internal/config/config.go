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

	"gopkg.in/yaml.v3"
)

// FileName is the config file's name.
const FileName = ".fluxlint.yaml"

// Config is the file's content; flags override it.
type Config struct {
	Engine        string            `yaml:"engine"`
	ServerVersion int               `yaml:"server_version"`
	Disable       []string          `yaml:"disable"`  // rule codes or names
	Severity      map[string]string `yaml:"severity"` // code or name -> info|warning|error
	// AssumeLockTimeout declares lock_timeout set outside the migrations
	// (on the role or by the tool), which silences PG113.
	AssumeLockTimeout bool `yaml:"assume_lock_timeout"`
	// CodePaths are where to search application code for references to
	// dropped or renamed objects, relative to the config file.
	CodePaths []string `yaml:"code_paths"`
	Path      string   `yaml:"-"` // where it was read from
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
		if _, err := os.Stat(p); err == nil {
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
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		return nil, err
	}
	c := &Config{Path: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, p := range c.CodePaths {
		if !filepath.IsAbs(p) {
			c.CodePaths[i] = filepath.Join(filepath.Dir(path), p)
		}
	}
	return c, nil
}
