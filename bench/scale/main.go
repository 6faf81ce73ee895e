//go:build bench

// Command scale measures how fluxlint's time and memory grow with its input:
// for each shape of migration it lints a file of N statements and one of
// 2N, and reports wall time, peak RSS and the 2N/N ratios (linear time is a
// ratio near 2). It also lints the two large inputs the memory goal names:
// 50 MB of tiny statements on stdin and a 200 MB file, reporting peak RSS
// against the input's size. Inputs are written to files as they are
// generated: a child's peak RSS as the kernel reports it includes its
// parent's at the fork, so this process stays small.
//
//	go run -tags bench ./bench/scale              # N = 100,000
//	go run -tags bench ./bench/scale -n 20000 -big=false
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 100000, "statements in the smaller file of each shape")
	big := flag.Bool("big", true, "also lint the 50 MB stdin and 200 MB file inputs")
	runs := flag.Int("runs", 3, "runs per measurement (the median is shown)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "fluxlint-scale")
	if err != nil {
		log.Fatal(err)
	}
	// log.Fatal skips deferred calls: the scratch directory goes either way.
	log.SetFlags(0)
	fail := func(format string, a ...any) {
		os.RemoveAll(dir)
		log.Fatalf(format, a...)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "fluxlint")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/fluxlint").CombinedOutput(); err != nil {
		fail("go build: %v\n%s", err, out)
	}
	// A binary just written sits in the page cache in large folios, which
	// add about 9 MB to every run's peak RSS; re-read, it does not.
	if err := dropPageCache(); err != nil {
		fmt.Fprintf(os.Stderr, "note: cannot drop the page cache (%v): peak RSS includes the fresh binary's pages\n", err)
	}
	fmt.Printf("fluxlint %s, %s\n", gitHead(), time.Now().UTC().Format("2006-01-02"))
	fmt.Printf("%-34s %10s %9s %8s %10s %9s %8s %6s %6s\n", "shape", "N", "time", "RSS", "2N", "time", "RSS", "time×", "RSS×")
	for _, s := range shapes {
		var t [2]time.Duration
		var rss [2]int64
		for k, count := range []int{*n, 2 * *n} {
			d := filepath.Join(dir, fmt.Sprintf("%s-%d", s.name, count))
			write(filepath.Join(d, "0001_history.sql"), func(w *bufio.Writer) { w.WriteString(s.history) })
			write(filepath.Join(d, "0002_target.sql"), func(w *bufio.Writer) { s.body(w, count) })
			t[k], rss[k] = median(*runs, bin, "", append(s.flags, "--format", "json", "--code-path", "none", filepath.Join(d, "0002_target.sql"))...)
		}
		fmt.Printf("%-34s %10d %8.2fs %6dMB %10d %8.2fs %6dMB %6.2f %6.2f\n", s.name, *n, t[0].Seconds(), rss[0]>>10,
			2**n, t[1].Seconds(), rss[1]>>10, t[1].Seconds()/t[0].Seconds(), float64(rss[1])/float64(rss[0]))
	}
	if !*big {
		return
	}
	fmt.Printf("\n%-40s %8s %9s %8s %8s\n", "large input", "size", "time", "RSS", "RSS/size")
	tiny := func(size int) func(*bufio.Writer) {
		return func(w *bufio.Writer) { repeat(w, "SELECT 1;\n", size/10) }
	}
	stdin := filepath.Join(dir, "stdin.sql")
	write(stdin, tiny(50<<20))
	tm, rss := median(*runs, bin, stdin, "--format", "json", "-")
	report("50 MB of tiny statements on stdin", 50<<20, tm, rss)
	for _, f := range []struct {
		name string
		body func(*bufio.Writer)
	}{
		{"200 MB file of tiny statements", tiny(200 << 20)},
		{"200 MB file of multi-row INSERTs", func(w *bufio.Writer) { inserts(w, 200<<20) }},
	} {
		p := filepath.Join(dir, "big", strings.ReplaceAll(f.name, " ", "_")+".sql")
		write(p, f.body)
		tm, rss := median(*runs, bin, "", "--format", "json", p)
		report(f.name, 200<<20, tm, rss)
		os.Remove(p)
	}
}

func report(name string, size int, t time.Duration, rss int64) {
	fmt.Printf("%-40s %6dMB %8.2fs %6dMB %8.2f\n", name, size>>20, t.Seconds(), rss>>10, float64(rss<<10)/float64(size))
}

// A shape is one kind of migration, repeated: statements on tables that
// the history creates, so that every rule sees existing tables.
type shape struct {
	name    string
	flags   []string
	history string
	body    func(w *bufio.Writer, n int)
}

const tables = 200

func history(mysql bool) string {
	var b strings.Builder
	for i := range tables {
		if mysql {
			fmt.Fprintf(&b, "CREATE TABLE t%d (id bigint PRIMARY KEY, name varchar(100), score int);\n", i)
		} else {
			fmt.Fprintf(&b, "CREATE TABLE t%d (id bigint PRIMARY KEY, name text, score int);\n", i)
		}
	}
	return b.String()
}

// alters cycles through changes that keep each table's size bounded: a
// column added, given a default, indexed, renamed and dropped again.
func alters(b *bufio.Writer, n int) {
	for i := range n {
		t, c := i%tables, i/(tables*5)
		switch (i / tables) % 5 {
		case 0:
			fmt.Fprintf(b, "ALTER TABLE t%d ADD COLUMN c%d int;\n", t, c)
		case 1:
			fmt.Fprintf(b, "ALTER TABLE t%d ALTER COLUMN c%d SET DEFAULT 0;\n", t, c)
		case 2:
			fmt.Fprintf(b, "CREATE INDEX t%d_c%d_idx ON t%d (c%d);\n", t, c, t, c)
		case 3:
			fmt.Fprintf(b, "ALTER TABLE t%d RENAME COLUMN c%d TO d%d;\n", t, c, c)
		case 4:
			fmt.Fprintf(b, "ALTER TABLE t%d DROP COLUMN d%d;\n", t, c)
		}
	}
}

var shapes = []shape{
	{name: "PostgreSQL ALTERs on existing tables", history: history(false), body: alters},
	{name: "MySQL ALTERs on existing tables", flags: []string{"--engine", "mysql"}, history: history(true), body: alters},
	{name: "directives, one per statement", history: history(false), body: func(w *bufio.Writer, n int) {
		for i := range n {
			fmt.Fprintf(w, "-- fluxlint:ignore PG101 benchmark %d\nCREATE INDEX i%d ON t%d (name);\n", i, i, i%tables)
		}
	}},
	{name: "tiny statements", history: history(false), body: func(w *bufio.Writer, n int) { repeat(w, "SELECT 1;\n", n) }},
}

func repeat(w *bufio.Writer, s string, n int) {
	for range n {
		w.WriteString(s)
	}
}

func inserts(w *bufio.Writer, size int) {
	for i, n := 0, 0; n < size; i++ {
		k, _ := fmt.Fprintf(w, "INSERT INTO users (id, email, name) VALUES (%d, 'user%d@example.com', 'Name %d'), (%d, 'x%d@example.com', 'Other');\n", i, i, i, -i, i)
		n += k
	}
}

// write streams a generated file to path.
func write(path string, gen func(*bufio.Writer)) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(f)
	gen(w)
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// median runs fluxlint runs times (stdin from the file named, if any) and
// returns the median wall time and the median peak RSS (KB). Exit codes 0
// and 1 are runs that linted; others fail.
func median(runs int, bin, stdin string, args ...string) (time.Duration, int64) {
	var ts []time.Duration
	var rs []int64
	for range runs {
		cmd := exec.Command(bin, args...)
		if stdin != "" {
			f, err := os.Open(stdin)
			if err != nil {
				log.Fatal(err)
			}
			cmd.Stdin = f // closed by the process's end: Run waits for it
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		ts = append(ts, time.Since(start))
		if code := cmd.ProcessState.ExitCode(); err != nil && code != 1 {
			log.Fatalf("fluxlint %v: %v\n%s", args, err, stderr.String())
		}
		rs = append(rs, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	}
	return sortedMid(ts), sortedMid(rs)
}

func sortedMid[T int64 | time.Duration](xs []T) T {
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if xs[j] < xs[i] {
				xs[i], xs[j] = xs[j], xs[i]
			}
		}
	}
	return xs[len(xs)/2]
}

func gitHead() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "(no git)"
	}
	return strings.TrimSpace(string(out))
}

// dropPageCache asks the kernel to drop clean page-cache pages (root only).
func dropPageCache() error {
	if err := exec.Command("sync").Run(); err != nil {
		return err
	}
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0)
}
