// Package readfile reads input files defensively: only regular files, of a
// bounded size, so that a FIFO, a device or a huge file named like a
// migration is refused with its name instead of hanging or eating memory.
package readfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// DefaultMax is the largest migration fluxlint reads unless the config's
// max_file_size says otherwise.
const DefaultMax = 256 << 20

// SmallMax bounds the side files fluxlint reads: configs, journals,
// manifests.
const SmallMax = 4 << 20

// ErrTooLarge is wrapped by the error for a file over the limit.
var ErrTooLarge = errors.New("file too large")

// Read returns the content of the regular file at path, refusing anything
// else and anything over max bytes. The file is opened without blocking,
// so a FIFO is refused rather than waited on.
func Read(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := Regular(st); err != nil {
		return nil, err
	}
	if st.Size() > max {
		return nil, tooLarge(st.Size(), max)
	}
	// The size can change while reading: read one byte past the limit to
	// notice.
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, tooLarge(int64(len(data)), max)
	}
	return data, nil
}

// ReadAll reads r up to max bytes, refusing more.
func ReadAll(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("more than %s: %w (raise max_file_size in .fluxlint.yaml)", Size(max), ErrTooLarge)
	}
	return data, nil
}

// Regular refuses what is not a regular file, naming its kind.
func Regular(st fs.FileInfo) error {
	m := st.Mode()
	if m.IsRegular() {
		return nil
	}
	kind := "not a regular file"
	switch {
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	case m&fs.ModeCharDevice != 0:
		kind = "a character device"
	case m&fs.ModeDevice != 0:
		kind = "a block device"
	}
	return fmt.Errorf("%s, not a file fluxlint reads", kind)
}

func tooLarge(size, max int64) error {
	return fmt.Errorf("%s, over the %s limit: %w (raise max_file_size in .fluxlint.yaml)", Size(size), Size(max), ErrTooLarge)
}

// Size formats a byte count for messages.
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
