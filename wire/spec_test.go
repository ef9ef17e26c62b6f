package wire_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaygate/relaygate/openapi/openapitest"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

var t0 = time.Date(2026, 11, 25, 21, 20, 3, 0, time.UTC)

// ams2 is a relay with every field the contract carries set.
func ams2() relay.Relay {
	return relay.Relay{
		ID: "ams-2", Region: "eu-west", Site: "ams", Location: relay.Location{Latitude: 52.37, Longitude: 4.9},
		Country:   nl,
		Addresses: []netip.Addr{netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::7")},
		Hostname:  "ams-2.relay.example", Ports: relay.Ports{relay.UDP: 3478, relay.TCP: 443, relay.TLS: 5349},
		Capacity: relay.Capacity{Allocations: 5000, BandwidthBPS: 2_000_000_000},
		Load:     relay.Load{Allocations: 42, BandwidthBPS: 7_000_000},
		Draining: true, Drained: true, Version: "0.2.0", Static: true, LastSeen: t0, ExpiresAt: t0.Add(15 * time.Second),
		Probe: relay.Probe{Health: relay.HealthUp, RTT: 3200 * time.Microsecond, MinRTT: 3 * time.Millisecond,
			Jitter: 400 * time.Microsecond, Loss: 0.01, ProbedAt: t0.Add(-2 * time.Second)},
	}
}

func ptr[T any](v T) *T { return &v }

var nl, _ = relay.ParseCountry("NL")

// schemaCase is one object schema of openapi.yaml and its Go type: full
// sets every member the schema defines; invalid, when the Go type can hold
// one, is a value the schema refuses.
type schemaCase struct {
	full    any
	invalid any
}

// contract maps every object schema of openapi.yaml, by name, to its Go
// type in wire. TestContract fails on a schema missing here and on an
// exported wire type that implements no schema.
func contract() map[string]schemaCase {
	measurement := wire.NewMeasurement(relay.Measurement{RelayID: "fra-1", RTT: 21500 * time.Microsecond, Loss: 0.01})
	choice := wire.NewRelayChoice(relay.Choice{Relay: ams2(), EstimatedRTT: 14200 * time.Microsecond, HasEstimate: true, Basis: relay.BasisGeo},
		[]string{"turn:198.51.100.7:3478?transport=udp", "turn:[2001:db8::7]:443?transport=tcp", "turns:ams-2.relay.example:5349?transport=tcp"})
	backup := choice
	backup.RelayID, backup.Site, backup.Basis, backup.URLs = "fra-1", "fra", relay.BasisMeasured, []string{"turn:203.0.113.5:3478?transport=udp"}
	const username, credential = "1764113400:k2.6q1xkz0d9", "n0Lq4Yp5X2v7m8QmS2k3wYb9Zt4="
	status := wire.NewRelayStatus(ams2(), t0.Add(1400*time.Millisecond))
	heartbeat := wire.NewHeartbeat(ams2())
	relayRevocation := wire.RelayRevocation{Pseudonym: "6q1xkz0d9", Until: t0.Add(time.Hour)}
	revocation := wire.NewRevocation(relay.Revocation{Subject: "alice@example.com", Pseudonym: "6q1xkz0d9", Until: t0.Add(time.Hour), At: t0})
	report := wire.NewUsageReport(relay.UsageReport{Epoch: "Zx3-q_9", Seq: 7, Entries: []relay.UsageEntry{
		{Pseudonym: "Hq3xL0p9sVbT2mYcN8rW", Usage: relay.Usage{BytesToPeer: 1200, BytesFromPeer: 3400, AllocationTime: 61500 * time.Millisecond}}}})
	heartbeat.Usage = &report
	totals := wire.NewUsageTotals(relay.Usage{BytesToPeer: 1200, BytesFromPeer: 3400, AllocationTime: 61500 * time.Millisecond})
	usage := wire.NewUsage("alice@example.com", t0.Truncate(time.Hour), t0.Add(time.Hour).Truncate(time.Hour),
		[]relay.UsagePeriod{{Start: t0.Truncate(time.Hour), Usage: relay.Usage{BytesToPeer: 1200, BytesFromPeer: 3400, AllocationTime: 61500 * time.Millisecond}}})
	relayUsage := wire.NewRelayUsageList(t0.Truncate(time.Hour), t0.Add(time.Hour).Truncate(time.Hour),
		[]relay.UsageOnRelay{{RelayID: "ams-2", Usage: relay.Usage{BytesToPeer: 1200, BytesFromPeer: 3400, AllocationTime: time.Minute}}})
	candidates := wire.NewCandidateList([]relay.Relay{ams2()})
	fieldError := wire.FieldError{Field: "measurements[0].rtt_ms", Message: "required: a number in [0, 60000]"}
	return map[string]schemaCase{
		"Heartbeat": {full: heartbeat,
			invalid: func() wire.Heartbeat { h := heartbeat; h.Latitude = nil; return h }()},
		"Ports":     {full: heartbeat.Ports, invalid: wire.Ports{}},
		"Resources": {full: *heartbeat.Load, invalid: wire.Resources{Allocations: -1}},
		"HeartbeatAck": {full: wire.HeartbeatAck{TTLSeconds: 15, HeartbeatIntervalSeconds: 5, Drained: true,
			Revocations: []wire.RelayRevocation{relayRevocation}, RevocationsTruncated: true, UsageAck: 7}, invalid: wire.HeartbeatAck{}},
		"RelayRevocation":   {full: relayRevocation, invalid: wire.RelayRevocation{Until: t0}},
		"RevocationRequest": {full: wire.RevocationRequest{Subject: "alice@example.com", Until: t0}, invalid: wire.RevocationRequest{Until: t0}},
		"Revocation":        {full: revocation, invalid: wire.Revocation{Until: t0, RevokedAt: t0}},
		"RevocationList":    {full: wire.RevocationList{Revocations: []wire.Revocation{revocation}}, invalid: wire.RevocationList{}},
		"UsageReport": {full: report,
			invalid: func() wire.UsageReport { r := report; r.Seq = 0; return r }()},
		"UsageEntry": {full: report.Entries[0],
			invalid: wire.UsageEntry{Pseudonym: "a:b", AllocationSeconds: 1}},
		"UsageTotals":    {full: totals, invalid: wire.UsageTotals{AllocationSeconds: -1}},
		"UsageHour":      {full: usage.Hours[0]},
		"Usage":          {full: usage},
		"RelayUsage":     {full: relayUsage.Relays[0], invalid: wire.RelayUsage{RelayID: "Not a slug"}},
		"RelayUsageList": {full: relayUsage},
		"Probe":          {full: *status.Probe, invalid: wire.Probe{Loss: 1.5}},
		"RelayStatus": {full: status,
			invalid: func() wire.RelayStatus { s := status; s.Addresses = nil; return s }()},
		"RelayList": {full: wire.RelayList{Relays: []wire.RelayStatus{status}}, invalid: wire.RelayList{}},
		"CallRelay": {full: wire.NewCallRelay("fra-1", relay.StateDraining, true),
			invalid: wire.CallRelay{RelayID: "fra-1", State: "leaving"}},
		"CallRelays": {full: wire.CallRelays{Relays: []wire.CallRelay{wire.NewCallRelay("fra-1", relay.StateDrained, true)}},
			invalid: wire.CallRelays{}},
		"Candidate": {full: candidates.Candidates[0],
			invalid: func() wire.Candidate {
				c := candidates.Candidates[0]
				c.URLs = []string{"turn:198.51.100.7:3478"}
				return c
			}()},
		"CandidateList": {full: candidates, invalid: wire.CandidateList{}},
		"MeasurementsRequest": {full: wire.MeasurementsRequest{Measurements: []wire.Measurement{measurement}},
			invalid: wire.MeasurementsRequest{Measurements: []wire.Measurement{}}},
		"Measurement":          {full: measurement, invalid: wire.Measurement{RelayID: "fra-1"}},
		"MeasurementsAccepted": {full: wire.MeasurementsAccepted{Accepted: 1}, invalid: wire.MeasurementsAccepted{}},
		"CredentialsRequest": {full: wire.CredentialsRequest{TTLSeconds: ptr[int64](600), Transports: []string{"udp", "tls"}, Measurements: []wire.Measurement{measurement},
			AllowedCountries: []string{"NL", "de"}, ExcludeCountries: []string{"DE"}},
			invalid: wire.CredentialsRequest{TTLSeconds: ptr[int64](59)}},
		"RelayChoice": {full: choice,
			invalid: func() wire.RelayChoice { c := choice; c.Basis = "nearest"; return c }()},
		"ICEServer": {full: wire.ICEServer{URLs: choice.URLs, Username: username, Credential: credential},
			invalid: wire.ICEServer{URLs: choice.URLs, Username: username, Credential: "secret"}},
		"Credentials": {full: wire.Credentials{
			Username: username, Credential: credential, TTLSeconds: 600, ExpiresAt: t0.Add(10 * time.Minute),
			Primary: choice, Backup: &backup,
			ICEServers:         []wire.ICEServer{{URLs: slices.Concat(choice.URLs, backup.URLs), Username: username, Credential: credential}},
			ICETransportPolicy: wire.ICETransportPolicyRelay,
		}, invalid: wire.Credentials{Username: username, Credential: credential, TTLSeconds: 600, ExpiresAt: t0, Primary: choice,
			ICEServers: []wire.ICEServer{{URLs: choice.URLs, Username: username, Credential: credential}}, ICETransportPolicy: "all"}},
		"TurnServer": {full: wire.TurnServer{Username: username, Password: credential, TTL: 86400, URIs: choice.URLs},
			invalid: wire.TurnServer{Username: username, Password: credential, TTL: 59, URIs: choice.URLs}},
		"Problem": {full: wire.Problem{Type: "urn:relaygate:problem:invalid-body", Title: "Request body is invalid", Status: 400,
			Detail: "request body has invalid fields", Instance: "/v1/measurements", RequestID: "01JDQ7V3K2M8X4R6T9W0YB5N1C",
			Errors: []wire.FieldError{fieldError}},
			invalid: wire.Problem{Type: "urn:relaygate:problem:invalid-body", Title: "OK", Status: 200}},
		"FieldError": {full: fieldError}, // any two strings are one
		"Health":     {full: wire.Health{Status: "ok"}, invalid: wire.Health{Status: "fine"}},
		"DemoToken":  {full: wire.DemoToken{Token: "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", ExpiresAt: t0.Add(10 * time.Minute)}},
		"Readiness": {full: wire.Readiness{Status: "ready", Store: "unreachable", Stale: true, SnapshotAgeSeconds: ptr(12.5)},
			invalid: wire.Readiness{Status: "ready", Store: "down"}},
	}
}

// validator is a request type carrying the contract's field rules.
type validator interface{ Validate() []wire.FieldError }

func TestContract(t *testing.T) {
	spec := openapitest.Load(t)
	objects := spec.Objects()
	cases := contract()
	for _, name := range slices.Sorted(maps.Keys(objects)) {
		if _, ok := cases[name]; !ok {
			t.Errorf("components/schemas/%s has no Go type in wire (add it and a row of contract)", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		c := cases[name]
		obj, ok := objects[name]
		if !ok {
			t.Errorf("contract lists %s (%T), which is no object schema of openapi.yaml", name, c.full)
			continue
		}
		t.Run(name, func(t *testing.T) {
			typ := reflect.TypeOf(c.full)
			if typ.Name() != name || typ.PkgPath() != reflect.TypeFor[wire.Health]().PkgPath() {
				t.Errorf("schema %s is implemented by %v, want wire.%s", name, typ, name)
			}
			// A full value is valid, has every member the schema defines,
			// and reads back equal.
			spec.CheckSchema(t, name, c.full)
			b, err := json.Marshal(c.full)
			if err != nil {
				t.Fatalf("Marshal(%T) error = %v", c.full, err)
			}
			var members map[string]any
			if err := json.Unmarshal(b, &members); err != nil {
				t.Fatalf("%s is not a JSON object: %v", b, err)
			}
			for _, p := range obj.Properties {
				if _, ok := members[p]; !ok {
					t.Errorf("%T leaves out %s.%s (the full value must set every member): %s", c.full, name, p, b)
				}
			}
			back := reflect.New(typ)
			if err := json.Unmarshal(b, back.Interface()); err != nil {
				t.Fatalf("Unmarshal(%s) error = %v", b, err)
			}
			if got := back.Elem().Interface(); !reflect.DeepEqual(got, c.full) {
				t.Errorf("round trip of %s:\n got %+v\nwant %+v", b, got, c.full)
			}
			// The schema refuses an unknown member and each required one
			// missing, so it can tell.
			members["x_unknown"] = true
			if spec.SchemaError(name, members) == nil {
				t.Errorf("%s with an unknown member passes the schema", name)
			}
			delete(members, "x_unknown")
			for _, req := range obj.Required {
				v := members[req]
				delete(members, req)
				if spec.SchemaError(name, members) == nil {
					t.Errorf("%s without required %s passes the schema", name, req)
				}
				members[req] = v
			}
			if c.invalid != nil {
				if spec.SchemaError(name, c.invalid) == nil {
					t.Errorf("invalid %s %+v passes the schema", name, c.invalid)
				}
			}
			// A request type's own rules agree with the schema on both.
			if v, ok := c.full.(validator); ok {
				if fe := v.Validate(); len(fe) > 0 {
					t.Errorf("full %s: Validate() = %v, want none", name, fe)
				}
				if fe := c.invalid.(validator).Validate(); len(fe) == 0 {
					t.Errorf("invalid %s %+v: Validate() = none, want the schema's refusal", name, c.invalid)
				}
			}
		})
	}
}

// TestEveryTypeIsInTheContract reads wire's source: each exported type is
// an object schema of contract or one of the string schemas below, so no
// shape of the API lives in wire without being held to the spec.
func TestEveryTypeIsInTheContract(t *testing.T) {
	stringSchemas := map[string]bool{"RelayState": true} // checked by TestEnums
	cases := contract()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if isTest(f) {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				name := s.(*ast.TypeSpec).Name.Name
				if _, ok := cases[name]; ast.IsExported(name) && !ok && !stringSchemas[name] {
					t.Errorf("%s: type %s is in no row of contract: wire holds the spec's schemas only", fset.Position(s.Pos()), name)
				}
			}
		}
	}
}

func isTest(file string) bool { return strings.HasSuffix(file, "_test.go") }

// TestEnums holds the values relay's vocabulary puts into the API to the
// spec's enumerations, and the transport table to the spec's Transport.
func TestEnums(t *testing.T) {
	spec := openapitest.Load(t)
	for _, st := range []relay.State{relay.StateAvailable, relay.StateDegraded, relay.StateFull, relay.StateDraining, relay.StateDrained, relay.StateDown} {
		spec.CheckSchema(t, "RelayState", st)
	}
	if spec.SchemaError("RelayState", wire.RelayState("busy")) == nil {
		t.Error(`RelayState "busy" passes the schema`)
	}
	for _, tr := range relay.Transports() {
		spec.CheckSchema(t, "Transport", tr)
		if msg := wire.CheckTransports([]string{tr.String()}); msg != "" {
			t.Errorf("CheckTransports(%s) = %q, want it accepted", tr, msg)
		}
	}
	if spec.SchemaError("Transport", "sctp") == nil || wire.CheckTransports([]string{"sctp"}) == "" {
		t.Error(`transport "sctp" is accepted`)
	}
	choice := contract()["RelayChoice"].full.(wire.RelayChoice)
	for _, b := range []relay.Basis{relay.BasisMeasured, relay.BasisGeo, relay.BasisFallback} {
		choice.Basis = b
		spec.CheckSchema(t, "RelayChoice", choice)
	}
	probe := contract()["Probe"].full.(wire.Probe)
	for _, h := range []relay.Health{relay.HealthUp, relay.HealthDegraded, relay.HealthDown} {
		probe.Health = h
		spec.CheckSchema(t, "Probe", probe)
	}
}
