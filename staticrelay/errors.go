package staticrelay

import (
	"errors"
	"fmt"
	"strings"
)

// ErrConfig wraps every Config validation failure; the wrapped errors name
// the setting and the bad value.
var ErrConfig = errors.New("staticrelay: invalid config")

// FileError means a static relays file was refused: it names every
// problem found, each with its line where one is known. Its text may
// carry relay addresses and other values of the file (the operator's
// own, never a secret: the file has no field for one).
type FileError struct {
	Path     string    // the file; empty when Parse was given bytes
	Problems []Problem // in the order of the file
}

// Problem is one reason a FileError refuses a file.
type Problem struct {
	Line    int    // 1-based line in the file; 0: the file as a whole
	Where   string // e.g. `relays[1] (coturn-b) addresses[0]`; empty: the file as a whole
	Message string
}

// String is the problem as FileError writes it.
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Where != "" {
		b.WriteString(p.Where + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// maxReported bounds the problems Error writes: a file that is wrong
// throughout should not make one log line of megabytes.
const maxReported = 20

// Error names the file and its problems, the first maxReported of them.
func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString("staticrelay: ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	for i, p := range e.Problems {
		if i == maxReported {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}
