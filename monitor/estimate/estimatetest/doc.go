// Package estimatetest is a simulated host for the tests of the estimator
// and of the monitor loop around it: 16 cores and 64 GiB, and a business
// whose load is a function of the time elapsed since Start. Only tests
// import it; one host for both keeps the loop's tests and the
// estimator's scenarios on the same machine, so a figure one asserts
// means the same in the other.
package estimatetest
