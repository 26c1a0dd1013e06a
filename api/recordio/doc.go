// Package recordio is the framing of Mesos's streaming HTTP APIs: each
// record is its length in bytes, in decimal ASCII, a newline, then the
// record itself ("<length>\n<json>"). The scheduler API frames its events
// this way so that a Mesos framework library reads headroom's stream
// unchanged.
package recordio
