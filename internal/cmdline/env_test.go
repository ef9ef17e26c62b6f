package cmdline

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestEnvName(t *testing.T) {
	if got := EnvName("RELAYGATE_", "redis-url"); got != "RELAYGATE_REDIS_URL" {
		t.Errorf("EnvName(RELAYGATE_, redis-url) = %q, want RELAYGATE_REDIS_URL", got)
	}
}

func TestEnvApply(t *testing.T) {
	type flags struct {
		listen, token string
		ttl           time.Duration
		n             int
	}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		secret     bool // token is a secret flag
		hideValues bool
		want       flags
		wantErr    []string // substrings of the error; nil for none
		notInErr   []string
	}{
		{name: "twins fill flags", env: map[string]string{"T_LISTEN": ":1", "T_TTL": "5s", "T_N": "7"},
			want: flags{listen: ":1", ttl: 5 * time.Second, n: 7}},
		{name: "command line wins", args: []string{"--listen", ":2"}, env: map[string]string{"T_LISTEN": ":1", "T_N": "7"},
			want: flags{listen: ":2", n: 7}},
		{name: "empty is unset", env: map[string]string{"T_LISTEN": ""}, want: flags{listen: "def"}},
		{name: "refused value shown", env: map[string]string{"T_TTL": "soon", "T_N": "many"},
			want: flags{listen: "def"}, wantErr: []string{`T_TTL="soon": parse error`, `T_N="many": parse error`}},
		{name: "hidden values keep the reason", hideValues: true, env: map[string]string{"T_TTL": "soon"},
			want: flags{listen: "def"}, wantErr: []string{"T_TTL: parse error"}, notInErr: []string{"soon"}},
		{name: "a secret shows nothing", secret: true, env: map[string]string{"T_TOKEN": "s3cr3t"},
			want: flags{listen: "def"}, wantErr: []string{"T_TOKEN: invalid value"}, notInErr: []string{"s3cr3t", "refuse"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var got flags
			fs.StringVar(&got.listen, "listen", "def", "")
			fs.Func("token", "", func(s string) error {
				if strings.HasPrefix(s, "s3") {
					return errors.New("refuse " + s)
				}
				got.token = s
				return nil
			})
			fs.DurationVar(&got.ttl, "ttl", 0, "")
			fs.IntVar(&got.n, "n", 0, "")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			e := Env{
				Getenv:     func(k string) string { return tt.env[k] },
				Name:       func(f string) string { return EnvName("T_", f) },
				Secret:     map[string]bool{"token": tt.secret},
				HideValues: tt.hideValues,
			}
			err := e.Apply(fs, Given(fs))
			if got != tt.want {
				t.Errorf("flags = %+v, want %+v", got, tt.want)
			}
			checkErr(t, "Apply()", err, tt.wantErr, tt.notInErr)
			var ee *EnvError
			if err != nil && !errors.As(err, &ee) {
				t.Errorf("Apply() = %v, want *EnvError in it", err)
			}
		})
	}
}

// TestEnvApplyBeforeParse: applied before Parse, with no given flags, the
// environment sets every flag and the command line then overrides it.
func TestEnvApplyBeforeParse(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	n := fs.Int("n", 0, "")
	e := Env{Getenv: func(string) string { return "7" }, Name: func(f string) string { return EnvName("T_", f) }}
	if err := e.Apply(fs, nil); err != nil || *n != 7 {
		t.Fatalf("Apply() = %v, n = %d; want n 7", err, *n)
	}
	if err := fs.Parse([]string{"-n", "9"}); err != nil || *n != 9 {
		t.Fatalf("Parse() = %v, n = %d; want n 9", err, *n)
	}
}

// checkErr fails t unless err is an error exactly when want lists
// something, and then holds every string of want and none of notIn (what
// it must not echo). call names the call in the messages.
func checkErr(t *testing.T, call string, err error, want, notIn []string) {
	t.Helper()
	if (err != nil) != (want != nil) {
		t.Fatalf("%s = %v; want an error: %v", call, err, want != nil)
	}
	if err == nil {
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s = %q, want %q in it", call, err, w)
		}
	}
	for _, w := range notIn {
		if strings.Contains(err.Error(), w) {
			t.Errorf("%s = %q, shows %q", call, err, w)
		}
	}
}
