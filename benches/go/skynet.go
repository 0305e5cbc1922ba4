package main

// Skynet: the Go side of benches/skynet.c: a fan-out/fan-in tree, 10 children
// per node, unbuffered channels, 1M leaves (1,111,111 goroutines per tree).
//
// go/skynet/leaves:L/procs:{1,all}: one unit = one tree; ns_per_leaf = wall time / L. The
// run line's cpu_ns (process CPU time) over real_ns is the CPUs kept busy on average,
// the 1 P -> all Ps "extra CPU" reading, compared with skynet/g's cpu_per_wall.

import (
	"time"
)

func skynet(out chan<- int64, num, size int64) {
	if size == 1 {
		out <- num
		return
	}
	c := make(chan int64)
	sub := size / 10
	for i := int64(0); i < 10; i++ {
		go skynet(c, num+i*sub, sub)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-c
	}
	out <- sum
}

func runSkynet(n, leaves int64) result {
	t0 := time.Now()
	for i := int64(0); i < n; i++ {
		c := make(chan int64)
		go skynet(c, 0, leaves)
		if got := <-c; got != leaves*(leaves-1)/2 {
			fail("skynet: sum %d, want %d", got, leaves*(leaves-1)/2)
		}
	}
	el := time.Since(t0)
	return result{iters: n, elapsed: el, counters: map[string]float64{
		"ns_per_leaf": float64(el.Nanoseconds()) / float64(n*leaves), "leaves": float64(leaves)}}
}
