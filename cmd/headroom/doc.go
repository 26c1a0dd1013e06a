// Command headroom measures, on every host, how much CPU and memory the
// business is safely not using, hands it to batch work, and takes it back
// the moment the business needs it. See `headroom --help`.
package main
