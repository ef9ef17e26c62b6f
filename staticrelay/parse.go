package staticrelay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

// MaxFileSize bounds the file: some 200 bytes an entry, it holds far more
// relays than MaxRelays, and it keeps a file written by mistake (a log, a
// database) from being parsed every poll.
const MaxFileSize = 1 << 20

// MaxRelays bounds the relays one file lists. Each is probed every probe
// interval by every replica; a fleet beyond this should heartbeat (run
// relaynode), not be listed.
const MaxRelays = 2000

// Locator places a relay address on the map; geoip.DB implements it.
type Locator interface {
	Locate(netip.Addr) (relay.Location, bool)
}

// file is the file's layout. Relays is a pointer so that a file without
// the key (empty, truncated, or not ours) is told from an empty list.
type file struct {
	Relays *[]entry `yaml:"relays"`
}

// entry is one relay of the file: an id and the wire.Heartbeat an operator
// states, under its JSON names (wire.Heartbeat's yaml tags: a relay's
// load, draining, version and usage are its own reports, which a static
// relay does not make, and are unknown keys here).
type entry struct {
	ID             string `yaml:"id"`
	wire.Heartbeat `yaml:",inline"`
}

// Parse reads a static relays file: its relays, each marked Static, in the
// file's order; or a *FileError naming every problem with its line. loc,
// when not nil, locates an entry that states neither latitude nor
// longitude, by its first address that loc finds; without it, or when it
// finds none, both are required. The file is refused whole for any
// problem: a relay that silently went missing would be worse than a
// refused reload, which keeps the last good file.
func Parse(data []byte, loc Locator) ([]relay.Relay, error) {
	if len(data) > MaxFileSize {
		return nil, fileError(Problem{Message: fmt.Sprintf("larger than %d bytes", MaxFileSize)})
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fileError(yamlProblems(err, nil)...)
	}
	nodes := entryNodes(&root)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fileError(Problem{Message: "empty: want a list under relays: (relays: [] for none)"})
		}
		return nil, fileError(yamlProblems(err, nodes)...)
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return nil, fileError(Problem{Message: "more than one YAML document: want one, with a list under relays:"})
	}
	if f.Relays == nil {
		return nil, fileError(Problem{Message: "no relays: key: want a list under relays: (relays: [] for none)"})
	}
	entries := *f.Relays
	if len(entries) > MaxRelays {
		return nil, fileError(Problem{Message: fmt.Sprintf("%d relays: at most %d", len(entries), MaxRelays)})
	}
	var problems []Problem
	out := make([]relay.Relay, 0, len(entries))
	seen := make(map[string]int, len(entries))
	for i := range entries {
		e := &entries[i]
		var node *yaml.Node
		if i < len(nodes) {
			node = nodes[i]
		}
		where := fmt.Sprintf("relays[%d]", i)
		if wire.ValidSlug(e.ID) {
			where += " (" + e.ID + ")"
		}
		add := func(field, msg string) {
			problems = append(problems, Problem{Line: lineOf(node, field), Where: strings.TrimSpace(where + " " + field), Message: msg})
		}
		switch first, dup := seen[e.ID]; {
		case !wire.ValidSlug(e.ID):
			add("id", "required: 1-63 lowercase letters, digits or '-', starting with a letter or digit")
		case dup:
			add("id", fmt.Sprintf("also the id of relays[%d]: ids must be unique", first))
		default:
			seen[e.ID] = i
		}
		located := e.locate(loc)
		h := e.Heartbeat
		for _, fe := range h.Validate() {
			if !located && e.Latitude == nil && e.Longitude == nil && (fe.Field == "latitude" || fe.Field == "longitude") {
				if fe.Field == "latitude" {
					add("latitude", unlocatedReason(loc))
				}
				continue
			}
			add(fe.Field, fe.Message)
		}
		if _, ok := e.Ports[relay.UDP.String()]; !ok && len(e.Ports) > 0 {
			add("ports", "udp required: a static relay is judged by the gateway's STUN probes alone, which use UDP")
		}
		r := h.Relay(e.ID)
		r.Static = true
		out = append(out, r)
	}
	if problems != nil {
		return nil, fileError(problems...)
	}
	return out, nil
}

// locate fills in e's location from loc when e states neither coordinate,
// and reports whether e has both now (or states one, for Validate to
// judge).
func (e *entry) locate(loc Locator) bool {
	if e.Latitude != nil || e.Longitude != nil {
		return true
	}
	if loc == nil {
		return false
	}
	for _, s := range e.Addresses {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		if l, ok := loc.Locate(a); ok {
			e.Latitude, e.Longitude = &l.Latitude, &l.Longitude
			return true
		}
	}
	return false
}

// unlocatedReason says why an entry without coordinates could not be
// placed.
func unlocatedReason(loc Locator) string {
	if loc == nil {
		return "latitude and longitude required: no GeoIP database (--geoip-db) to locate the addresses"
	}
	return "latitude and longitude required: the GeoIP database locates none of the addresses"
}

func fileError(ps ...Problem) *FileError { return &FileError{Problems: ps} }

// entryNodes are the nodes of the entries under relays:, for their lines;
// nil when root has no such list.
func entryNodes(root *yaml.Node) []*yaml.Node {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	if v := mapValue(root.Content[0], "relays"); v != nil && v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return nil
}

// mapValue is key's value in the mapping m; nil when m is no mapping or
// lacks key.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// lineOf is the line of field (a wire.FieldError path: "site",
// "addresses[2]", "ports.udp") within entry: the most precise one found,
// else the entry's own; 0 without an entry.
func lineOf(entry *yaml.Node, field string) int {
	if entry == nil {
		return 0
	}
	line := entry.Line
	name, rest, _ := strings.Cut(field, ".")
	name, idx, indexed := strings.Cut(name, "[")
	v := mapValue(entry, name)
	if v == nil {
		return line
	}
	line = v.Line
	switch {
	case indexed:
		i, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
		if err == nil && v.Kind == yaml.SequenceNode && i >= 0 && i < len(v.Content) {
			line = v.Content[i].Line
		}
	case rest != "":
		if sub := mapValue(v, rest); sub != nil {
			line = sub.Line
		}
	}
	return line
}

var (
	// yamlLine is the "line N: " that starts yaml's messages.
	yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)
	// yamlUnknown is how yaml says a key is not one of ours.
	yamlUnknown = regexp.MustCompile(`^field (.+) not found in type (?:staticrelay|wire)\.(\w+)$`)
	// typeNames say our types as an operator knows them.
	typeNames = strings.NewReplacer("[]staticrelay.entry", "a list of relays", "staticrelay.entry", "a relay",
		"wire.Resources", "allocations and bandwidth_bps", "wire.Ports", "transport: port pairs", "staticrelay.file", "a mapping with relays:")
)

// yamlProblems turns yaml's error into problems: one per message, its
// line taken out, an unknown key said as such and placed in its entry
// (by nodes, the entries' nodes, when known).
func yamlProblems(err error, nodes []*yaml.Node) []Problem {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	out := make([]Problem, 0, len(msgs))
	for _, msg := range msgs {
		p := Problem{Message: strings.TrimPrefix(msg, "yaml: ")}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Message = msg[len(m[0]):]
		}
		inEntry := true
		if m := yamlUnknown.FindStringSubmatch(p.Message); m != nil {
			p.Message = fmt.Sprintf("unknown key %q", m[1])
			inEntry = m[2] != "file"
		}
		p.Message = typeNames.Replace(p.Message)
		if i := entryAt(nodes, p.Line); i >= 0 && inEntry {
			p.Where = fmt.Sprintf("relays[%d]", i)
		}
		out = append(out, p)
	}
	return out
}

// entryAt is the index of the entry that line falls in: the last one
// starting at or before it; -1 for none.
func entryAt(nodes []*yaml.Node, line int) int {
	at := -1
	for i, n := range nodes {
		if line > 0 && n.Line <= line {
			at = i
		}
	}
	return at
}
