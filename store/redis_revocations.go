package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/relay"
)

var _ Revocations = (*Redis)(nil)

// revocationRecord is a revocation as Redis keeps it, in the revocations
// hash under its subject, version 1 (recordVersion).
type revocationRecord struct {
	V         int       `json:"v"`
	Pseudonym string    `json:"pseudonym"`
	Until     time.Time `json:"until"` // RFC 3339, UTC, nanoseconds; authoritative
	At        time.Time `json:"at"`
}

// decodeRevocation reads the record of subject.
func decodeRevocation(subject, data string) (relay.Revocation, error) {
	var rec revocationRecord
	if err := json.Unmarshal([]byte(data), &rec); err != nil {
		return relay.Revocation{}, fmt.Errorf("decode revocation: %w", err)
	}
	if rec.V != recordVersion {
		return relay.Revocation{}, fmt.Errorf("decode revocation: format version %d", rec.V)
	}
	return relay.Revocation{Subject: subject, Pseudonym: rec.Pseudonym, Until: rec.Until, At: rec.At}, nil
}

// Revoke records rev and INCRs the version in one transaction (both keys
// share the hash tag {revocations}, one Cluster slot).
func (s *Redis) Revoke(ctx context.Context, rev relay.Revocation) error {
	if err := checkRevocation(rev, s.now); err != nil {
		return err
	}
	data, err := json.Marshal(revocationRecord{V: recordVersion, Pseudonym: rev.Pseudonym, Until: rev.Until.UTC(), At: stamp(s.now)})
	if err != nil {
		return fmt.Errorf("redis revoke: encode: %w", err)
	}
	_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.keys.revocations, rev.Subject, data)
		p.Incr(ctx, s.keys.revVersion)
		return nil
	})
	if err != nil {
		return s.fail("revoke", err)
	}
	return nil
}

// Unrevoke lifts subject's revocation. Two operators changing one
// subject's revocation at once: the later write wins.
func (s *Redis) Unrevoke(ctx context.Context, subject string) error {
	data, err := s.client.HGet(ctx, s.keys.revocations, subject).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return ErrNotRevoked
	case err != nil:
		return s.fail("unrevoke", err)
	}
	rev, err := decodeRevocation(subject, data)
	if err == nil && !rev.InForce(s.now()) {
		if err := s.client.HDel(ctx, s.keys.revocations, subject).Err(); err != nil {
			return s.fail("unrevoke", err)
		}
		return ErrNotRevoked
	}
	_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, s.keys.revocations, subject)
		p.Incr(ctx, s.keys.revVersion)
		return nil
	})
	if err != nil {
		return s.fail("unrevoke", err)
	}
	return nil
}

// Revocations reads every revocation and the version in one transaction,
// leaves out lapsed ones and deletes them (a garbage collection that does
// not change the version). A record it cannot decode is an error: a newer
// gateway's format must not read as "not revoked".
func (s *Redis) Revocations(ctx context.Context) ([]relay.Revocation, uint64, error) {
	var all *redis.MapStringStringCmd
	var ver *redis.StringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		all = p.HGetAll(ctx, s.keys.revocations)
		ver = p.Get(ctx, s.keys.revVersion)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, s.fail("revocations", err)
	}
	version, err := parseVersion(ver)
	if err != nil {
		return nil, 0, fmt.Errorf("redis revocations: %w", err)
	}
	now := s.now()
	var out []relay.Revocation
	var lapsed []string
	for subject, data := range all.Val() {
		rev, err := decodeRevocation(subject, data)
		if err != nil {
			return nil, 0, fmt.Errorf("redis revocations: %w", err)
		}
		if !rev.InForce(now) {
			lapsed = append(lapsed, subject)
			continue
		}
		out = append(out, rev)
	}
	if len(lapsed) > 0 {
		// Garbage only: a failure leaves them for the next read.
		_ = s.client.HDel(ctx, s.keys.revocations, lapsed...).Err()
	}
	slices.SortFunc(out, func(a, b relay.Revocation) int { return strings.Compare(a.Subject, b.Subject) })
	return out, version, nil
}

// RevocationsVersion is one GET.
func (s *Redis) RevocationsVersion(ctx context.Context) (uint64, error) {
	v, err := parseVersion(s.client.Get(ctx, s.keys.revVersion))
	if err != nil {
		return 0, s.fail("revocations version", err)
	}
	return v, nil
}

// parseVersion reads the version counter; a missing one is 0.
func parseVersion(c *redis.StringCmd) (uint64, error) {
	s, err := c.Result()
	switch {
	case errors.Is(err, redis.Nil):
		return 0, nil
	case err != nil:
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("revocations version %q: %w", s, err)
	}
	return v, nil
}
