package testenv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Example is one config file among the deployment examples.
type Example struct {
	Source string // where it is: a file, or a ConfigMap key inside one
	Path   string // a file holding it, to pass to --config
}

// ExampleConfigs finds, under the module's deployments/, every config file
// for a daemon named name (relaygate, relaynode): deployments/NAME*.yaml
// files themselves, and NAME.yaml keys of ConfigMaps in any YAML file
// below deployments/, each written to a temporary file. It fails t when
// it finds none.
func ExampleConfigs(t testing.TB, name string) []Example {
	t.Helper()
	root := moduleRoot(t)
	var out []Example
	files, err := filepath.Glob(filepath.Join(root, "deployments", name+"*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		out = append(out, Example{Source: rel(root, f), Path: f})
	}
	err = filepath.WalkDir(filepath.Join(root, "deployments"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path) //nolint:gosec // G304: the repository's own examples
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		for {
			var doc struct {
				Kind string            `yaml:"kind"`
				Data map[string]string `yaml:"data"`
			}
			if err := dec.Decode(&doc); err != nil {
				if errors.Is(err, io.EOF) || !strings.Contains(filepath.ToSlash(path), "/kubernetes/") {
					return nil // the end, or not a Kubernetes manifest (compose, a config file)
				}
				return fmt.Errorf("%s: %w", rel(root, path), err)
			}
			if v, ok := doc.Data[name+".yaml"]; ok && doc.Kind == "ConfigMap" {
				p := filepath.Join(t.TempDir(), name+".yaml")
				if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
					return err
				}
				out = append(out, Example{Source: rel(root, path) + " (ConfigMap key " + name + ".yaml)", Path: p})
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no %s config among the deployment examples", name)
	}
	return out
}

// moduleRoot is the directory of go.mod above the working directory.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}
