package coderefs

import (
	"os"
	"path"
	"strings"
)

// gitignore is one .gitignore file's patterns, in order: a later pattern
// overrides an earlier one, and "!" negates.
type gitignore struct{ rules []ignoreRule }

type ignoreRule struct {
	pattern  string
	negate   bool
	dirOnly  bool
	anchored bool // contains a slash: matched against the path from the .gitignore's directory
}

func loadGitignore(file string) *gitignore {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	gi := &gitignore{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r ")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if strings.HasPrefix(line, "!") {
			r.negate, line = true, line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly, line = true, strings.TrimSuffix(line, "/")
		}
		if strings.Contains(line, "/") {
			r.anchored, line = true, strings.TrimPrefix(line, "/")
		}
		r.pattern = line
		gi.rules = append(gi.rules, r)
	}
	return gi
}

// match reports whether rel (slash-separated, relative to the .gitignore's
// directory) is ignored.
func (g *gitignore) match(rel string, dir bool) bool {
	ignored := false
	for _, r := range g.rules {
		if r.dirOnly && !dir && !underDir(r, rel) {
			continue
		}
		if r.matches(rel) {
			ignored = !r.negate
		}
	}
	return ignored
}

// underDir reports whether a file lies under a directory the rule names.
func underDir(r ignoreRule, rel string) bool {
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		if r.matches(strings.Join(parts[:i], "/")) {
			return true
		}
	}
	return false
}

func (r ignoreRule) matches(rel string) bool {
	if r.anchored {
		return globPath(r.pattern, rel)
	}
	// Unanchored patterns match the name at any depth.
	for _, part := range strings.Split(rel, "/") {
		if ok, _ := path.Match(r.pattern, part); ok {
			return true
		}
	}
	return false
}

// globPath matches a pattern with ** (any number of directories) against a
// slash-separated path.
func globPath(pattern, rel string) bool {
	if !strings.Contains(pattern, "**") {
		ok, _ := path.Match(pattern, rel)
		return ok
	}
	pp, rp := strings.Split(pattern, "/"), strings.Split(rel, "/")
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		if i == len(pp) {
			return j == len(rp)
		}
		if pp[i] == "**" {
			for k := j; k <= len(rp); k++ {
				if rec(i+1, k) {
					return true
				}
			}
			return false
		}
		if j == len(rp) {
			return false
		}
		ok, _ := path.Match(pp[i], rp[j])
		return ok && rec(i+1, j+1)
	}
	return rec(0, 0)
}
