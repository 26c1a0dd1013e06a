// Command batchqueue is a small framework for headroom's scheduler API: it
// runs a list of shell commands on the offers it gets, spreading them over
// the agents of each offer round, retries the ones that are lost, declines
// what it does not need with a filter, and survives a master restart by
// re-subscribing with its framework id and reconciling. When every command
// has finished it tears itself down and exits.
//
//	batchqueue --master http://127.0.0.1:5050 --count 20 --command 'echo $TASK_INDEX; sleep 2'
//	batchqueue --master http://m1:5050,http://m2:5050 --commands jobs.txt --revocable=false
//
// It is an example of the protocol more than a product: read it next to
// docs/frameworks.md.
package main
