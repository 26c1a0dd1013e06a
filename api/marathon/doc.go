// Package marathon is Marathon's REST API as headroom speaks it on the
// wire: Go types for every field of Marathon's app definition, decoded
// leniently (what a Marathon client sends is never refused for a field
// headroom does not use), the conversion to headroom's own apps.App with
// a list of warnings for what was accepted but has no effect here, and
// the Marathon-shaped views clients read back (apps with embedded tasks,
// ids with their leading slash, lastTaskFailure as an object, deployments,
// the launch queue, groups, info, leader and event payloads).
//
// The split of responsibilities: this package decides what a Marathon
// document means for headroom; master/apps decides whether that is a
// valid app (its *ValidationError is Marathon's 422); the master's HTTP
// layer routes. headroom's own CLI keeps decoding app files strictly
// (apps.DecodeApp): a typo in a file a person wrote is an error, while a
// field a Marathon client sends is a warning.
package marathon
