package main

import (
	"fmt"
	"runtime"
	"time"
)

// registry lists every row in run order, with the argument sets of preset pr. Row names
// and counters follow benches/FORMAT.md (the go/... rows); arguments follow the C benches.
func registry(pr preset) []*bench {
	ncpu := runtime.NumCPU()
	var bs []*bench
	add := func(b *bench) { bs = append(bs, b) }

	// T1: spawn, switch, channel round trip (spawn.go, switch.go).
	for _, p := range []struct {
		tag   string
		procs int
	}{{"1", 1}, {"all", ncpu}} {
		add(&bench{name: "go/spawn/procs:" + p.tag, procs: p.procs, claims: "T1.create.g,P4.1.pool",
			summary: "go + WaitGroup.Done, batches of 1000, create+run+exit",
			run:     func(n int64) result { return runSpawn(n, spawnBatch) }})
	}
	// P4.1.pool: the document's case, sync.Pool of worker objects vs new (pool.go).
	for _, p := range []struct {
		tag   string
		procs int
	}{{"1", 1}, {"all", ncpu}} {
		for _, use := range []int{0, 1} {
			p, use := p, use
			add(&bench{name: fmt.Sprintf("go/pool/worker/pool:%d/procs:%s", use, p.tag),
				procs: p.procs, claims: "P4.1.pool",
				summary: "tasks take a 16 KiB worker object from a sync.Pool (pool:1) or new (pool:0)",
				run:     func(n int64) result { return runPool(n, use == 1) }})
		}
	}
	add(&bench{name: "go/switch/gosched", procs: 1, claims: "T1.switch.g",
		summary: "two goroutines calling runtime.Gosched on one P",
		run:     runGosched})
	for _, p := range []int{1, 2} {
		add(&bench{name: fmt.Sprintf("go/chan/procs:%d", p), procs: p, claims: "T1.switch.g",
			summary: "unbuffered channel ping-pong between two goroutines",
			run:     runChanPingPong})
	}

	// T1.stack.g: bytes per parked goroutine (stack.go), a fresh process per repetition.
	for _, n := range pr.stackN {
		n := n
		add(&bench{name: fmt.Sprintf("go/stack/parked/n:%d", n), claims: "T1.stack.g",
			summary: "N goroutines parked on a channel: RSS and StackInuse delta per goroutine",
			run:     runParked, fixedN: n, freshPerRep: true,
			skip: func() string { return parkedMemCheck(n) }})
	}

	// T10.lat: channel capacity sweep (chan.go).
	chanRows := func(kind, summary string, run func(n int64, capacity int) result) {
		for _, c := range pr.chanCaps {
			for _, p := range pr.chanProcs {
				c, p := c, p
				add(&bench{name: fmt.Sprintf("go/chan/%s/cap:%d/procs:%d", kind, c, p), procs: p,
					claims: "T10.lat", summary: summary,
					run: func(n int64) result { return run(n, c) }})
			}
		}
	}
	chanRows("throughput", "one producer, one consumer: ns per message", runChanThroughput)
	for _, c := range []int{1, 256, 1024} {
		for _, p := range pr.chanProcs {
			for _, r := range pr.openRates {
				c, p, r := c, p, r
				add(&bench{name: fmt.Sprintf("go/chan/openloop/cap:%d/procs:%d/rate:%d", c, p, r),
					procs: p, claims: "T10.lat",
					summary: "send-to-receive latency at a fixed offered rate (Poisson) vs capacity",
					run:     func(n int64) result { return runChanOpenLoop(n, c, float64(r)) }})
			}
		}
	}
	chanRows("latency", "saturated producer: send-to-receive latency p50/p99", runChanLatency)

	// T5: GOMAXPROCS sweep with schedtrace sampling (sweep.go).
	max := pr.sweepMax
	if max == 0 {
		max = 2 * ncpu
	}
	trace := []string{fmt.Sprintf("GODEBUG=schedtrace=%d", pr.schedtrace)}
	minTime := 6 * time.Duration(pr.schedtrace) * time.Millisecond
	for p := 1; p <= max; p++ {
		add(&bench{name: fmt.Sprintf("go/procs/sweep/procs:%d", p), procs: p,
			claims: "T5.idle,T5.grunq,N3.3.sched", child: true, childEnv: trace, minBenchtime: minTime,
			summary: "spawn-heavy + Gosched + blocking channel workload (procs_sweep.c's); schedtrace-sampled",
			run:     runSweep})
	}
	add(&bench{name: "go/procs/sweep/resize", procs: max, claims: "T5.resize,T5.idle,T5.grunq",
		child: true, childEnv: trace, minBenchtime: minTime,
		summary: fmt.Sprintf("sweep workload while GOMAXPROCS walks 1..%d and back every %d ops", max, resizeEvery),
		run:     func(n int64) result { return runSweepResize(n, max) }})

	// P4.2.mutex: one sync.Mutex vs shards (mutex.go).
	for _, g := range pr.mutexGs {
		for _, s := range pr.mutexShards {
			g, s := g, s
			add(&bench{name: fmt.Sprintf("go/mutex/contend/gs:%d/shards:%d", g, s), procs: ncpu,
				claims: "P4.2.mutex", summary: "N goroutines lock a random shard, increment, unlock",
				run: func(n int64) result { return runMutex(n, g, s) }})
		}
	}

	// Skynet, 100k and 1M leaves, 1 P and all Ps (skynet.go; the README's speed table).
	for _, l := range []int64{100000, 1000000} {
		for _, p := range []struct {
			tag   string
			procs int
		}{{"1", 1}, {"all", ncpu}} {
			l := l
			add(&bench{name: fmt.Sprintf("go/skynet/leaves:%d/procs:%s", l, p.tag), procs: p.procs,
				claims: "T1.switch.g,T5.idle", fixedN: 1,
				summary: "skynet tree (10-way fan-out, unbuffered channels)",
				run:     func(n int64) result { return runSkynet(n, l) }})
		}
	}

	// L2.1.*: Go's own struct p layout, read from this binary's DWARF (layout.go).
	add(&bench{name: "go/runq/layout", claims: "L2.1.runq,L2.1.headtail,L2.1.fourlines",
		summary: "offsets of runtime.p's runqhead/runqtail/runq/runnext from DWARF",
		run:     runLayout, fixedN: 1, skip: layoutSkip})
	return bs
}
