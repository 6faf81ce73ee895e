package lint

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/internal/atomicfile"
)

// The history cache keeps, for a set's history before its first target,
// the catalog its replay built, keyed by a hash of everything the replay
// reads: this fluxlint binary, the engine and server version, and each
// history file's name, tool convention and content. A run whose history
// is unchanged (a pull request adding a migration, a pre-commit run)
// restores the catalog instead of parsing the history again. Entries are
// written atomically (a concurrent run reads the old one or the new one),
// and an entry that cannot be read is ignored and rewritten.

// maxCacheEntries bounds the cache directory: each new history (every
// merged migration) writes an entry, and the oldest go.
const maxCacheEntries = 32

// history is one cache entry.
type history struct {
	Catalog []byte // catalog.Snapshot
	Unit    string // the change unit the history ended in
	// Files are the history files as the parse left them (tool and
	// transaction modes from their markers, statement counts), in order;
	// their paths are the run's own spelling.
	Files []FileInfo
}

var binaryID = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	st, err := os.Stat(exe)
	if err != nil {
		return ""
	}
	// The binary's path, size and modification time stand for its build:
	// a rebuilt fluxlint never reads a snapshot of another's catalog.
	return fmt.Sprintf("%s %d %d", exe, st.Size(), st.ModTime().UnixNano())
})

// keyHeader starts every key: the binary and what the options change in
// a replay.
func keyHeader(kind string, opt Options) (hash.Hash, bool) {
	id := binaryID()
	if id == "" {
		return nil, false
	}
	h := sha256.New()
	fmt.Fprintf(h, "fluxlint history cache 1 %s\n%s\n%v %d %s\n", kind, id, opt.Engine, opt.Version, opt.Server)
	return h, true
}

// historyKey hashes what the replay of ms reads. It reads each file and
// lets its content go again (the parse reads it when the key misses). ok is
// false when a file cannot be read: its error belongs to the replay.
func historyKey(set *migrations.Set, ms []*migrations.Migration, opt Options) (string, bool) {
	h, ok := keyHeader("content", opt)
	if !ok {
		return "", false
	}
	for _, m := range ms {
		had := m.Src != nil
		if err := m.Read(); err != nil {
			return "", false
		}
		fmt.Fprintf(h, "%q %s %s %v %v %v %d\n", relName(set, m), m.Tool, m.Version, m.UpTx, m.DownTx, m.Down, len(m.Src))
		h.Write(m.Src)
		if !had {
			m.Src = nil
		}
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// racyWindow: a file modified this recently may change again without its
// modification time changing (timestamps have a granularity), so its
// metadata does not stand for its content.
const racyWindow = 2 * time.Second

// statKey hashes the history files' names, sizes and modification times,
// which the run has already read, instead of their content: a history
// whose files have not been touched since a run that hashed their content
// is found without reading them (the content key is stored under it, as
// git trusts its index). ok is false when a file is too recent to tell.
func statKey(set *migrations.Set, ms []*migrations.Migration, opt Options) (string, bool) {
	h, ok := keyHeader("stat", opt)
	if !ok {
		return "", false
	}
	fmt.Fprintf(h, "%q\n", migrations.RealPath(set.Dir))
	old := time.Now().Add(-racyWindow)
	var line []byte // each file's line, built without fmt: 2,000 files cost 4 ms through Fprintf
	for _, m := range ms {
		st := m.Info
		if st == nil || !st.Mode().IsRegular() {
			var err error
			if st, err = os.Stat(m.Path); err != nil {
				return "", false
			}
		}
		if !st.ModTime().Before(old) {
			return "", false
		}
		line = strconv.AppendQuote(line[:0], relName(set, m))
		for _, w := range []string{string(m.Tool), m.Version, string(m.UpTx), string(m.DownTx)} {
			line = append(append(line, ' '), w...)
		}
		line = strconv.AppendBool(append(line, ' '), m.Down)
		line = strconv.AppendInt(append(line, ' '), st.Size(), 10)
		line = strconv.AppendInt(append(line, ' '), st.ModTime().UnixNano(), 10)
		h.Write(append(line, '\n'))
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

func relName(set *migrations.Set, m *migrations.Migration) string {
	if rel, err := filepath.Rel(set.Dir, m.Path); err == nil {
		return rel
	}
	return m.Path
}

// findHistory looks the history ms up: by its files' metadata, then by
// their content. It returns the restored catalog and entry on a hit, and
// on a miss the keys to store the replay under (either may be "").
func findHistory(set *migrations.Set, ms []*migrations.Migration, opt Options) (cat *catalog.Catalog, e *history, contentKey, metaKey string) {
	metaKey, _ = statKey(set, ms, opt)
	if metaKey != "" {
		if ck, err := os.ReadFile(linkPath(opt.CacheDir, metaKey)); err == nil {
			if cat, e = loadHistory(opt.CacheDir, string(ck)); cat != nil && len(e.Files) == len(ms) {
				return cat, e, "", ""
			}
		}
	}
	contentKey, _ = historyKey(set, ms, opt)
	if contentKey == "" {
		return nil, nil, "", ""
	}
	if cat, e = loadHistory(opt.CacheDir, contentKey); cat != nil && len(e.Files) == len(ms) {
		linkHistory(opt.CacheDir, metaKey, contentKey)
		return cat, e, "", ""
	}
	return nil, nil, contentKey, metaKey
}

func linkPath(dir, key string) string { return filepath.Join(dir, "stat-"+key) }

// linkHistory stores the content key under the metadata key.
func linkHistory(dir, metaKey, contentKey string) {
	if metaKey != "" {
		_ = atomicfile.Write(linkPath(dir, metaKey), []byte(contentKey), 0o644)
	}
}

func cachePath(dir, key string) string { return filepath.Join(dir, "history-"+key+".gob") }

// loadHistory returns the cached replay for key, or nil.
func loadHistory(dir, key string) (*catalog.Catalog, *history) {
	data, err := os.ReadFile(cachePath(dir, key))
	if err != nil {
		return nil, nil
	}
	var e history
	if gob.NewDecoder(bytes.NewReader(data)).Decode(&e) != nil {
		return nil, nil
	}
	cat, err := catalog.Restore(e.Catalog)
	if err != nil {
		return nil, nil
	}
	now := time.Now()
	_ = os.Chtimes(cachePath(dir, key), now, now) // recently used: pruned last
	return cat, &e
}

// storeHistory writes an entry; failing to is no error of the lint (the
// next run replays again).
func storeHistory(dir, key, metaKey string, cat *catalog.Catalog, unit string, files []FileInfo) {
	var snap bytes.Buffer
	if cat.Snapshot(&snap) != nil {
		return
	}
	var buf bytes.Buffer
	if gob.NewEncoder(&buf).Encode(&history{Catalog: snap.Bytes(), Unit: unit, Files: files}) != nil {
		return
	}
	if os.MkdirAll(dir, 0o755) != nil || atomicfile.Write(cachePath(dir, key), buf.Bytes(), 0o644) != nil {
		return
	}
	linkHistory(dir, metaKey, key)
	pruneCache(dir)
}

// pruneCache removes the least recently used entries past maxCacheEntries,
// and as many metadata links (each run on a fresh checkout writes one).
func pruneCache(dir string) {
	prune(filepath.Join(dir, "history-*.gob"))
	prune(filepath.Join(dir, "stat-*"))
}

func prune(pattern string) {
	entries, err := filepath.Glob(pattern)
	if err != nil || len(entries) <= maxCacheEntries {
		return
	}
	type aged struct {
		path string
		mod  int64
	}
	var all []aged
	for _, p := range entries {
		if st, err := os.Stat(p); err == nil {
			all = append(all, aged{p, st.ModTime().UnixNano()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod > all[j].mod })
	for _, a := range all[min(maxCacheEntries, len(all)):] {
		os.Remove(a.path)
	}
}
