package cmdline

import (
	"bytes"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds a config file: a real one is a few kilobytes, and the
// YAML parser holds the whole file.
const MaxFileSize = 1 << 20

// Setting is one key of a config file: a flag's name and the text its
// flag.Value's Set takes.
type Setting struct {
	Flag  string // the key: a flag's name without dashes
	Value string // a scalar as written; a list's items joined by commas
	Line  int    // the key's line in the file, from 1
}

// FileRules say what a config file may hold.
type FileRules struct {
	// Lists are the flags that take a comma-separated list; the file may
	// give them as a YAML list too. Any other flag takes a scalar.
	Lists map[string]bool
	// Skip are flags that no file may set (--config itself, --version).
	Skip map[string]bool
}

// FileError is a config file that was refused, at a line when one is
// known. It never shows a value: a file may hold secrets.
type FileError struct {
	File string // the file's name as given
	Line int    // 0 when not known (a syntax error says its own)
	Key  string // the key at fault; "" when not one key's
	Err  error
}

// Error reads FILE:LINE: KEY: reason.
func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the reason.
func (e *FileError) Unwrap() error { return e.Err }

// ParseFile reads data, the YAML config file named name, against fs: a
// mapping from flag names (without dashes) to scalars, or to lists of
// scalars for the flags r.Lists names. Numbers, durations and booleans are
// taken as written ("5s", 0.05, true), for the flag to parse. It refuses
// unknown and repeated keys, keys r.Skip names, nested mappings, more than
// one document and files over MaxFileSize, with a *FileError per fault.
// An empty file sets nothing.
func ParseFile(name string, data []byte, fs *flag.FlagSet, r FileRules) ([]Setting, error) {
	if len(data) > MaxFileSize {
		return nil, &FileError{File: name, Err: fmt.Errorf("larger than %d bytes", MaxFileSize)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // empty, or comments only
		}
		return nil, &FileError{File: name, Err: err} // yaml's errors name the line
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		return nil, &FileError{File: name, Line: second.Line, Err: errors.New("more than one YAML document")}
	}
	root := doc.Content[0] // a DocumentNode has exactly one child
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil // "---" alone, or "~"
	}
	if root.Kind != yaml.MappingNode {
		return nil, &FileError{File: name, Line: root.Line, Err: errors.New("want a mapping of flag names to values")}
	}
	var (
		out  []Setting
		errs []error
		seen = map[string]int{}
	)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, &FileError{File: name, Line: k.Line, Err: errors.New("a key must be a flag's name")})
			continue
		}
		key := k.Value
		fail := func(line int, format string, a ...any) {
			errs = append(errs, &FileError{File: name, Line: line, Key: printableKey(key), Err: fmt.Errorf(format, a...)})
		}
		if key == "<<" {
			fail(k.Line, "merge keys are not supported")
			continue
		}
		if first, ok := seen[key]; ok {
			fail(k.Line, "repeated (first on line %d)", first)
			continue
		}
		seen[key] = k.Line
		switch {
		case strings.HasPrefix(key, "-"):
			fail(k.Line, "unknown key: write a flag's name without dashes")
			continue
		case fs.Lookup(key) == nil:
			fail(k.Line, "unknown key (not a flag of %s)", fs.Name())
			continue
		case r.Skip[key]:
			fail(k.Line, "not allowed in a config file")
			continue
		}
		val, err := fileValue(v, r.Lists[key])
		if err != nil {
			fail(v.Line, "%v", err)
			continue
		}
		out = append(out, Setting{Flag: key, Value: val, Line: k.Line})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// fileValue is the flag text of v: a scalar as written, or for a list
// flag the items of a list joined by commas.
func fileValue(v *yaml.Node, list bool) (string, error) {
	v = unalias(v)
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return "", errors.New("no value (write \"\" for an empty one)")
		}
		return v.Value, nil
	case yaml.SequenceNode:
		if !list {
			return "", errors.New("takes one value, not a list")
		}
		items := make([]string, 0, len(v.Content))
		for _, it := range v.Content {
			it = unalias(it)
			if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
				return "", fmt.Errorf("line %d: a list item must be a value", it.Line)
			}
			if strings.Contains(it.Value, ",") {
				return "", fmt.Errorf("line %d: a list item must not contain a comma", it.Line)
			}
			items = append(items, it.Value)
		}
		return strings.Join(items, ","), nil
	default:
		return "", errors.New("want a value, not a mapping")
	}
}

// unalias is the node an alias stands for; one step, as YAML allows no
// alias of an alias.
func unalias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// printableKey is key for an error message when it looks like a name,
// else a placeholder: a misplaced secret can end up as a key, and base64
// or hex secrets are longer or use other characters.
func printableKey(key string) string {
	plain := key != "" && len(key) <= 40
	for _, c := range key {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			plain = false
			break
		}
	}
	if plain {
		return key
	}
	return "(a key not shown)"
}

// ApplyFile sets fs's flags from settings, except those in skip (set on
// the command line or from the environment), and returns one *FileError
// per value a flag refused, joined. Like Env, it shows no refused value,
// and for a secret flag no reason either.
func ApplyFile(fs *flag.FlagSet, name string, settings []Setting, skip, secret map[string]bool) error {
	var errs []error
	for _, s := range settings {
		if skip[s.Flag] {
			continue
		}
		if err := fs.Set(s.Flag, s.Value); err != nil {
			fe := &FileError{File: name, Line: s.Line, Key: s.Flag, Err: errors.New("invalid value")}
			if !secret[s.Flag] {
				typ, _ := flag.UnquoteUsage(fs.Lookup(s.Flag))
				fe.Err = fmt.Errorf("invalid %s: %w", cmp.Or(typ, "value"), err)
			}
			errs = append(errs, fe)
		}
	}
	return errors.Join(errs...)
}
