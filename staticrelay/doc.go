// Package staticrelay reads the gateway's static relays file
// (relaygate --static-relays): relays the operator lists because they
// never heartbeat, such as stock coturn servers sharing the gateway's TURN
// secret. It parses the file (Parse), and follows its replacements
// (Watcher), handing each good version's relays to a func the gateway
// supplies (gateway.Gateway.SetStatic); a bad version is refused whole and
// the last good one stays.
//
// The file is YAML: a list under relays:, each entry an id and the
// heartbeat body's own fields (wire.Heartbeat: region, site, latitude,
// longitude, addresses, hostname, ports, capacity, drained), checked by
// the heartbeat's own Validate, so a static relay and a heartbeating one
// are described by one contract. Keys are matched strictly: an unknown key
// is refused, with its line. Latitude and longitude may both be left out
// when a GeoIP database locates one of the addresses.
//
//	relays:
//	  - id: coturn-fra-1
//	    region: eu-central
//	    site: fra
//	    addresses: [203.0.113.5]
//	    ports: {udp: 3478, tcp: 3478}
//
// It refuses to know HTTP, the store or the gateway: the relays go out
// through the func it is given, which also checks what only the gateway
// knows (the networks relays may have addresses in).
package staticrelay
