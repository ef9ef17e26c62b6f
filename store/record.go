package store

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// recordVersion is the format version written into every Redis record.
// Bump it when a field changes meaning; readers reject versions they do
// not know instead of misreading them.
const recordVersion = 1

// record is a relay as the Redis store keeps it, version 1. Its JSON names
// are this package's own, decoupled from relay.Relay's Go fields, so the
// two may evolve separately. The drain mark is not here: it lives in its own
// hash so that it survives the record's expiry.
type record struct {
	V         int     `json:"v"`
	ID        string  `json:"id"`
	Region    string  `json:"region,omitempty"`
	Site      string  `json:"site,omitempty"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	// Country is the ISO 3166-1 alpha-2 code, absent when unknown. Older
	// records without it read as unknown: a field added, not changed, so
	// the version stays.
	Country   relay.Country `json:"country,omitempty"`
	Addresses []netip.Addr  `json:"addresses,omitempty"`
	Hostname  string        `json:"hostname,omitempty"`
	Ports     relay.Ports   `json:"ports"` // {"udp":3478,...} by transport name
	Capacity  recordAmount  `json:"capacity"`
	Load      recordAmount  `json:"load"`
	Draining  bool          `json:"draining,omitempty"`
	Version   string        `json:"version,omitempty"`
	LastSeen  time.Time     `json:"last_seen"`  // RFC 3339, UTC, nanoseconds
	ExpiresAt time.Time     `json:"expires_at"` // authoritative for freshness
}

type recordAmount struct {
	Allocations  int64 `json:"allocations,omitempty"`
	BandwidthBPS int64 `json:"bandwidth_bps,omitempty"`
}

func newRecord(r *relay.Relay) record {
	return record{
		V:         recordVersion,
		ID:        r.ID,
		Region:    r.Region,
		Site:      r.Site,
		Latitude:  r.Location.Latitude,
		Longitude: r.Location.Longitude,
		Country:   r.Country,
		Addresses: r.Addresses,
		Hostname:  r.Hostname,
		Ports:     r.Ports,
		Capacity:  recordAmount{Allocations: r.Capacity.Allocations, BandwidthBPS: r.Capacity.BandwidthBPS},
		Load:      recordAmount{Allocations: r.Load.Allocations, BandwidthBPS: r.Load.BandwidthBPS},
		Draining:  r.Draining,
		Version:   r.Version,
		LastSeen:  r.LastSeen,
		ExpiresAt: r.ExpiresAt,
	}
}

func (rec *record) relay() relay.Relay {
	return relay.Relay{
		ID:        rec.ID,
		Region:    rec.Region,
		Site:      rec.Site,
		Location:  relay.Location{Latitude: rec.Latitude, Longitude: rec.Longitude},
		Country:   rec.Country,
		Addresses: rec.Addresses,
		Hostname:  rec.Hostname,
		Ports:     rec.Ports,
		Capacity:  relay.Capacity{Allocations: rec.Capacity.Allocations, BandwidthBPS: rec.Capacity.BandwidthBPS},
		Load:      relay.Load{Allocations: rec.Load.Allocations, BandwidthBPS: rec.Load.BandwidthBPS},
		Draining:  rec.Draining,
		Version:   rec.Version,
		LastSeen:  rec.LastSeen.UTC(),
		ExpiresAt: rec.ExpiresAt.UTC(),
	}
}

// decodeRecord parses a stored record for the relay id. The record's own id
// must match the hash field it sits under.
func decodeRecord(id string, data []byte) (record, error) {
	var rec record
	if err := decodeVersioned(id, "", data, &rec, recordVersion); err != nil {
		return record{}, err
	}
	if rec.ID != id {
		return record{}, &RecordError{ID: id, Version: rec.V, Err: errIDMismatch}
	}
	return rec, nil
}

// versioned is a stored JSON record that carries its format version.
type versioned interface{ version() int }

func (rec *record) version() int          { return rec.V }
func (rec *probeRecord) version() int     { return rec.V }
func (rec *aggregateRecord) version() int { return rec.V }

// decodeVersioned parses data into rec, a stored record of relay id, and
// refuses any format version but want. kind names the record in a parse
// error ("probe"); the relay's own record needs none.
func decodeVersioned(id, kind string, data []byte, rec versioned, want int) error {
	if err := json.Unmarshal(data, rec); err != nil {
		if kind != "" {
			err = fmt.Errorf("%s: %w", kind, err)
		}
		return &RecordError{ID: id, Err: err}
	}
	if v := rec.version(); v != want {
		return &RecordError{ID: id, Version: v}
	}
	return nil
}
