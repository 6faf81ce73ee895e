package lsp

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// maxFrame bounds one message: a bigger Content-Length is a broken client.
const maxFrame = 64 << 20

// guardStdin puts a filter between the client and the protocol library:
// the library closes the connection on a message that is not JSON, which
// would end the server; the filter drops such a message (saying so on
// stderr) and passes every well-formed one on unchanged.
func guardStdin() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	client := os.Stdin
	os.Stdin = r
	go func() {
		defer w.Close()
		filterFrames(client, w, os.Stderr)
	}()
	return nil
}

// filterFrames copies LSP frames (Content-Length headers, a blank line, the
// body) from in to out, dropping those whose body is not JSON.
func filterFrames(in io.Reader, out io.Writer, log io.Writer) {
	br := bufio.NewReader(in)
	for {
		n := -1
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSpace(line)
			if line == "" {
				break
			}
			name, value, ok := strings.Cut(line, ":")
			if ok && strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
				n, _ = strconv.Atoi(strings.TrimSpace(value))
			}
		}
		if n < 0 || n > maxFrame {
			fmt.Fprintln(log, "fluxlint lsp: dropped a message without a valid Content-Length")
			continue
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		if !json.Valid(body) {
			fmt.Fprintln(log, "fluxlint lsp: dropped a message that is not JSON")
			continue
		}
		if _, err := fmt.Fprintf(out, "Content-Length: %d\r\n\r\n%s", n, body); err != nil {
			return
		}
	}
}
