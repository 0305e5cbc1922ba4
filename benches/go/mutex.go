package main

// Mutex contention: the Go side of the mutex/contend rows. Claim P4.2.mutex
// (contention shows in a mutex profile: contentions, total and mean delay).
//
// go/mutex/contend/gs:G/shards:S: G goroutines (all Ps) share n ops; each op picks a shard
// with a per-goroutine xorshift (also with S=1, so the per-op work is the same), locks its
// sync.Mutex, increments the shard's counter and unlocks. Shards are 64-byte padded.
// benches/mutex_contend.c does the same work on our runtime (the same start gate, seeds,
// xorshift, no yields, GOMAXPROCS = all CPUs), so ours/Go compares the two mutexes.
//
// Reading: ns_per_op = wall time / ops (all goroutines together). From Go's mutex profile
// (SetMutexProfileFraction(1) for the run, delta over the repetition):
//   contentions         events where a goroutine had to block (spins that won are not
//                       counted; Go records the delay when the holder unlocks)
//   contentions_per_op  contentions / ops
//   wait_ns_mean        total recorded delay / contentions
// The sum of shard counters must equal n, else the program stops.

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
)

type shard struct {
	mu sync.Mutex
	n  int64
	_  [48]byte
}

func runMutex(n int64, gs, shards int) result {
	prev := runtime.SetMutexProfileFraction(1)
	defer runtime.SetMutexProfileFraction(prev)
	c0, d0 := mutexProfileTotals()
	sh := make([]shard, shards)
	per := n / int64(gs)
	n = per * int64(gs)
	if n == 0 {
		per, n = 1, int64(gs)
	}
	workers := make([]func(), gs)
	for g := range workers {
		x := uint64(g)*0x9e3779b97f4a7c15 + 1
		workers[g] = func() {
			for i := int64(0); i < per; i++ {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				s := &sh[x%uint64(shards)]
				s.mu.Lock()
				s.n++
				s.mu.Unlock()
			}
		}
	}
	el := gated(nil, workers...)
	var total int64
	for i := range sh {
		total += sh[i].n
	}
	if total != n {
		fail("mutex: %d increments of %d", total, n)
	}
	c1, d1 := mutexProfileTotals()
	cont := float64(c1 - c0)
	c := map[string]float64{"ns_per_op": perUnit(el, n), "contentions": cont,
		"contentions_per_op": cont / float64(n), "wait_ns_mean": 0}
	if cont > 0 {
		c["wait_ns_mean"] = (d1 - d0) / cont
	}
	return result{iters: n, elapsed: el, counters: c}
}

// mutexProfileTotals returns the total contention count and delay (ns) in Go's mutex
// profile so far, read from its debug=1 text form, whose header gives cycles/second and
// whose records start "<cycles> <count> @".
func mutexProfileTotals() (count int64, delayNs float64) {
	var buf bytes.Buffer
	if err := pprof.Lookup("mutex").WriteTo(&buf, 1); err != nil {
		return 0, 0
	}
	return parseMutexProfile(buf.String())
}

func parseMutexProfile(text string) (count int64, delayNs float64) {
	var cps, cycles float64
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "cycles/second=") {
			v := strings.TrimPrefix(line, "cycles/second=")
			cps, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			continue
		}
		f := strings.Fields(line)
		if len(f) >= 3 && f[2] == "@" {
			cy, err1 := strconv.ParseFloat(f[0], 64)
			ct, err2 := strconv.ParseInt(f[1], 10, 64)
			if err1 == nil && err2 == nil {
				cycles += cy
				count += ct
			}
		}
	}
	if cps > 0 {
		delayNs = cycles / cps * 1e9
	}
	return count, delayNs
}
