package cmdline

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// testFlags is a FlagSet of every kind of flag a daemon has.
func testFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("listen", "def", "")
	fs.String("token", "", "")
	fs.String("cidrs", "", "")
	fs.Duration("ttl", 0, "")
	fs.Int("n", 0, "")
	fs.Float64("share", 0, "")
	fs.Bool("strict", false, "")
	Define(fs)
	return fs
}

var testRules = FileRules{Lists: map[string]bool{"cidrs": true}, Skip: map[string]bool{ConfigFlag: true, VersionFlag: true}}

func TestParseFile(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		want     []Setting
		wantErr  []string // substrings of the error; nil for none
		notInErr []string
	}{
		{name: "empty file", yaml: ""},
		{name: "comments only", yaml: "# nothing\n"},
		{name: "null document", yaml: "---\n"},
		{name: "scalars as written", yaml: "listen: 127.0.0.1:8080\nttl: 5s\nn: 7\nshare: 0.05\nstrict: true\n",
			want: []Setting{{"listen", "127.0.0.1:8080", 1}, {"ttl", "5s", 2}, {"n", "7", 3}, {"share", "0.05", 4}, {"strict", "true", 5}}},
		{name: "quoted empty string", yaml: `token: ""`, want: []Setting{{"token", "", 1}}},
		{name: "list as YAML list", yaml: "cidrs:\n  - 10.0.0.0/8\n  - 192.0.2.1\n", want: []Setting{{"cidrs", "10.0.0.0/8,192.0.2.1", 1}}},
		{name: "flow list", yaml: "cidrs: [10.0.0.0/8, 192.0.2.1]", want: []Setting{{"cidrs", "10.0.0.0/8,192.0.2.1", 1}}},
		{name: "list as comma string", yaml: "cidrs: 10.0.0.0/8,192.0.2.1", want: []Setting{{"cidrs", "10.0.0.0/8,192.0.2.1", 1}}},
		{name: "alias of a scalar", yaml: "listen: &a x:1\ntoken: *a\n", want: []Setting{{"listen", "x:1", 1}, {"token", "x:1", 2}}},
		{name: "unknown key", yaml: "listen: x\nlisten-addr: y\n", wantErr: []string{"f.yaml:2: listen-addr: unknown key"}},
		{name: "dashed key", yaml: "--listen: x\n", wantErr: []string{"f.yaml:1: --listen: unknown key: write a flag's name without dashes"}},
		{name: "repeated key", yaml: "n: 1\nttl: 1s\nn: 2\n", wantErr: []string{"f.yaml:3: n: repeated (first on line 1)"}},
		{name: "config in config", yaml: "config: other.yaml\n", wantErr: []string{"f.yaml:1: config: not allowed in a config file"}},
		{name: "version in config", yaml: "version: true\n", wantErr: []string{"f.yaml:1: version: not allowed"}},
		{name: "list for a scalar flag", yaml: "listen:\n  - a\n  - b\n", wantErr: []string{"f.yaml:2: listen: takes one value, not a list"}},
		{name: "mapping value", yaml: "listen:\n  host: a\n", wantErr: []string{"f.yaml:2: listen: want a value, not a mapping"}},
		{name: "no value", yaml: "ttl:\n", wantErr: []string{"f.yaml:1: ttl: no value"}},
		{name: "comma inside a list item", yaml: "cidrs: [\"a,b\"]\n", wantErr: []string{"cidrs: line 1: a list item must not contain a comma"}},
		{name: "nested list", yaml: "cidrs: [[a]]\n", wantErr: []string{"a list item must be a value"}},
		{name: "not a mapping", yaml: "- listen\n", wantErr: []string{"f.yaml:1: want a mapping of flag names to values"}},
		{name: "two documents", yaml: "n: 1\n---\nn: 2\n", wantErr: []string{"more than one YAML document"}},
		{name: "syntax error names the line", yaml: "n: 1\nttl: [5s\n", wantErr: []string{"f.yaml: yaml: line"}},
		{name: "merge key", yaml: "<<: {n: 1}\n", wantErr: []string{"merge keys are not supported"}},
		{name: "secret-looking key is not echoed", yaml: "dGhpcyBpcyBhIHNlY3JldCB0aGF0IGlzIGxvbmcgZW5vdWdo: x\n",
			wantErr: []string{"f.yaml:1: (a key not shown): unknown key"}, notInErr: []string{"dGhpcyBp"}},
		{name: "every fault at once", yaml: "nope: 1\nlisten: [a]\n", wantErr: []string{"f.yaml:1: nope", "f.yaml:2: listen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFile("f.yaml", []byte(tt.yaml), testFlags(), testRules)
			checkErr(t, "ParseFile()", err, tt.wantErr, tt.notInErr)
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Errorf("ParseFile() = %v, want a *FileError in it", err)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseFile() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseFileTooLarge(t *testing.T) {
	big := strings.Repeat("# padding\n", MaxFileSize/10+1)
	if _, err := ParseFile("f.yaml", []byte(big), testFlags(), testRules); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("ParseFile(%d bytes) = %v, want too large", len(big), err)
	}
}

// TestSourcesPrecedence: the command line beats the environment, which
// beats the file; the file beats the defaults.
func TestSourcesPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "t.yaml")
	writeFile(t, file, "listen: file:1\nttl: 3s\nn: 3\nshare: 0.3\ncidrs: [a, b]\n")
	env := map[string]string{"T_TTL": "2s", "T_N": "2"}
	fs := testFlags()
	s := Sources{Env: Env{Getenv: func(k string) string { return env[k] }, Name: func(f string) string { return EnvName("T_", f) }},
		Lists: map[string]bool{"cidrs": true}}
	if err := s.Parse(fs, []string{"--config", file, "--n", "1"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"listen": "file:1", "ttl": "2s", "n": "1", "share": "0.3", "cidrs": "a,b", "token": "", "strict": "false"}
	for name, w := range want {
		if got := fs.Lookup(name).Value.String(); got != w {
			t.Errorf("--%s = %q, want %q", name, got, w)
		}
	}
}

// TestSourcesConfigFromEnv: the file's twin names it too, and an empty
// variable is unset.
func TestSourcesConfigFromEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "t.yaml")
	writeFile(t, file, "n: 5\n")
	env := map[string]string{"T_CONFIG": file, "T_LISTEN": ""}
	fs := testFlags()
	s := Sources{Env: Env{Getenv: func(k string) string { return env[k] }, Name: func(f string) string { return EnvName("T_", f) }}}
	if err := s.Parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if got := fs.Lookup("n").Value.String(); got != "5" {
		t.Errorf("--n = %s, want 5 from the file T_CONFIG names", got)
	}
}

func TestSourcesRefusals(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		file     string // contents; "" for no file
		args     []string
		env      map[string]string
		wantErr  []string
		notInErr []string
		wantIs   error
	}{
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "nope.yaml")},
			wantErr: []string{"nope.yaml: open: no such file or directory"}},
		{name: "bad duration names key and line", file: "listen: a\nttl: soon\n",
			wantErr: []string{"t.yaml:2: ttl: invalid duration: parse error"}, notInErr: []string{"soon"}},
		{name: "bad secret shows no reason", file: "token: s3cr3t-value\n",
			wantErr: []string{"t.yaml:1: token: invalid value"}, notInErr: []string{"s3cr3t", "refuse"}},
		{name: "bad bool", file: "strict: yes\n", wantErr: []string{"t.yaml:1: strict: invalid value: parse error"}},
		{name: "a bad value the environment overrides is not looked at", file: "ttl: soon\n", env: map[string]string{"T_TTL": "1s"}},
		{name: "an unknown key is refused even when overridden", file: "nope: 1\n", wantErr: []string{"t.yaml:1: nope: unknown key"}},
		{name: "environment and file errors together", file: "n: many\n", env: map[string]string{"T_TTL": "soon"},
			wantErr: []string{`T_TTL="soon"`, "t.yaml:1: n: invalid int"}},
		{name: "version wins", args: []string{"--version", "--config", filepath.Join(dir, "nope.yaml")}, wantIs: ErrVersion},
		{name: "version has no twin", env: map[string]string{"T_VERSION": "true"}},
		{name: "help", args: []string{"--help"}, wantIs: flag.ErrHelp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				file := filepath.Join(t.TempDir(), "t.yaml")
				writeFile(t, file, tt.file)
				args = append([]string{"--config", file}, args...)
			}
			fs := testFlags()
			fs.Func("secret", "", func(string) error { return nil })
			s := Sources{Env: Env{Getenv: func(k string) string { return tt.env[k] }, Name: func(f string) string { return EnvName("T_", f) },
				Secret: map[string]bool{"token": true}}}
			// token refuses what looks like a secret, showing it in its reason.
			tok := fs.Lookup("token")
			tok.Value = refusing{tok.Value}
			err := s.Parse(fs, args)
			if tt.wantIs != nil {
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("Parse() = %v, want %v", err, tt.wantIs)
				}
				return
			}
			checkErr(t, "Parse()", err, tt.wantErr, tt.notInErr)
		})
	}
}

// refusing is a flag.Value that refuses values starting "s3", naming them.
type refusing struct{ flag.Value }

func (r refusing) Set(s string) error {
	if strings.HasPrefix(s, "s3") {
		return errors.New("refuse " + s)
	}
	return r.Value.Set(s)
}

func TestPrintFlags(t *testing.T) {
	fs := testFlags()
	fs.Lookup("token").DefValue = "hidden-default"
	var b strings.Builder
	e := Env{Name: func(f string) string { return EnvName("T_", f) }, Secret: map[string]bool{"token": true}}
	e.PrintFlags(&b, fs)
	out := b.String()
	for _, w := range []string{"  --listen string\n", "(default def) [$T_LISTEN]\n", "  --ttl duration\n", "[$T_TTL]", "[$T_CONFIG]", "  --version\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("PrintFlags() lacks %q:\n%s", w, out)
		}
	}
	for _, w := range []string{"hidden-default", "T_VERSION"} {
		if strings.Contains(out, w) {
			t.Errorf("PrintFlags() shows %q:\n%s", w, out)
		}
	}
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// FuzzParseFile: any input is refused with a *FileError or parses into
// settings of known flags, each once, which a fresh FlagSet then accepts
// or refuses without a panic.
func FuzzParseFile(f *testing.F) {
	for _, s := range []string{
		"listen: 127.0.0.1:8080\nttl: 5s\nn: 7\nshare: 0.05\nstrict: true\n",
		"cidrs:\n  - 10.0.0.0/8\n  - ::1/128\n",
		"cidrs: [a, b]\ntoken: &x abc\nlisten: *x\n",
		"n: 1\n---\nn: 2\n",
		"<<: {n: 1}\n",
		"listen: {a: b}\n",
		"a: &a [*a]\n",
		"? [a]\n: b\n",
		"\xef\xbb\xbfn: 1\n",
		"ttl: !!binary aGVsbG8=\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		settings, err := ParseFile("f.yaml", data, testFlags(), testRules)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseFile() = %v, not a *FileError", err)
			}
			if settings != nil {
				t.Fatalf("ParseFile() = %v and %v", settings, err)
			}
			return
		}
		fs := testFlags()
		seen := map[string]bool{}
		for _, s := range settings {
			if fs.Lookup(s.Flag) == nil || testRules.Skip[s.Flag] || seen[s.Flag] || s.Line < 1 {
				t.Fatalf("ParseFile() = %+v: setting %+v not allowed", settings, s)
			}
			seen[s.Flag] = true
		}
		_ = ApplyFile(fs, "f.yaml", settings, nil, nil)
	})
}
