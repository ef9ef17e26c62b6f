package geoip

import (
	"time"

	"github.com/relaygate/relaygate/internal/filepoll"
)

// Config configures a DB: Path is the mmdb file (GeoIP2/GeoLite2 City
// layout), required; PollInterval is how often Run checks whether the file
// was replaced, default 10s.
type Config = filepoll.Config

// defaultPollInterval: a GeoIP database is replaced weekly at most; a
// stat every 10 s costs nothing and picks a new one up promptly.
const defaultPollInterval = 10 * time.Second
