// Command report turns the output of `make bench` (bench/out.txt, in the
// Go benchmark format benchstat reads) into bench/results.md: the command,
// the machine and the date, the headline figures, a table per area, and
// the policy table of `headroom policy simulate` on every shared trace.
//
//	go run ./bench/report -in bench/out.txt -out bench/results.md \
//	    -headroom bin/headroom -traces ../shared/traces -command 'make bench'
package main
