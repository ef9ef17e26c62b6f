// Package geoip locates client addresses with a MaxMind GeoIP2 or GeoLite2
// City database (mmdb), for the selector's geo estimate.
//
// It owns reading the database file and replacing it when the file on disk
// is replaced (write the new file beside it, then rename it over the old
// one): DB.Reload checks the file once, DB.Run checks it periodically. A
// broken replacement keeps the database already loaded.
//
// It refuses to do anything else: it answers only coordinates (for
// clients) and the country code (for relays; see DB.Country), no names, no
// ISP, never logs or returns a client address, and imports nothing of
// ours but relay's Location and Country value types.
package geoip
