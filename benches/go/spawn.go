package main

// Spawn and switch benches: the Go side of benches/sched_create.c and
// benches/switch_pingpong.c. Claims T1.create.g (P4.1.pool: Go always reuses dead
// goroutines and their stacks through the per-P gFree list, so its row compares with our
// reuse:1 row), T1.switch.g.
//
// Reading:
//   go/spawn/procs:{1,all}  ns_per_spawn = wall time / goroutines; each goroutine is
//                           created, runs wg.Done and exits; the spawner waits for each
//                           batch of 1000, so at most 1000 are alive.
//   go/switch/gosched      ns_per_switch = wall time / (2 x calls per goroutine): with one
//                           P and two runnable goroutines every Gosched is one switch.
//   go/chan/procs:{1,2}     ns_per_roundtrip = wall time / round trips on two unbuffered
//                           channels (ping, pong); ns_per_switch is half of it. At procs:2
//                           Go decides placement; its runnext hand-off usually keeps the
//                           pair on one P, so expect procs:2 close to procs:1, not to a
//                           cross-CPU wake-up.

import (
	"runtime"
	"sync"
	"time"
)

const spawnBatch = 1000

func runSpawn(n int64, batch int64) result {
	var wg sync.WaitGroup
	done := func() { wg.Done() }
	t0 := time.Now()
	spawnBatches(n, batch, &wg, done)
	el := time.Since(t0)
	return result{iters: n, elapsed: el, counters: map[string]float64{
		"ns_per_spawn": perUnit(el, n), "batch": float64(batch)}}
}

func runGosched(n int64) result {
	yield := func() {
		for j := int64(0); j < n; j++ {
			runtime.Gosched()
		}
	}
	el := gated(nil, yield, yield)
	return result{iters: 2 * n, elapsed: el, counters: map[string]float64{
		"ns_per_switch": perUnit(el, 2*n)}}
}

func runChanPingPong(n int64) result {
	ping, pong := make(chan int), make(chan int)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		for v := range ping {
			pong <- v
		}
		wg.Done()
	}()
	ping <- 0 // ready/go barrier: the echo goroutine is running
	<-pong
	t0 := time.Now()
	for i := int64(0); i < n; i++ {
		ping <- 1
		<-pong
	}
	el := time.Since(t0)
	close(ping)
	wg.Wait()
	return result{iters: n, elapsed: el, counters: map[string]float64{
		"ns_per_roundtrip": perUnit(el, n), "ns_per_switch": perUnit(el, 2*n)}}
}

// spawnBatches starts n goroutines running task, batch at a time, and waits on wg for each
// batch before starting the next (task must call wg.Done). The batch bounds how many
// goroutines are alive at once, as the C side's batches do.
func spawnBatches(n, batch int64, wg *sync.WaitGroup, task func()) {
	for left := n; left > 0; left -= batch {
		k := batch
		if left < k {
			k = left
		}
		wg.Add(int(k))
		for i := int64(0); i < k; i++ {
			go task()
		}
		wg.Wait()
	}
}

// gated runs bg (if not nil) and each of fg in goroutines of their own, held at a start gate
// until all have started, and returns the time from opening the gate until every fg has
// returned (bg is not waited for: a producer whose end its consumer sees). The same window
// as the C side's ready/go gate: goroutine start-up is outside it.
func gated(bg func(), fg ...func()) time.Duration {
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	n := len(fg)
	if bg != nil {
		n++
	}
	ready.Add(n)
	done.Add(len(fg))
	if bg != nil {
		go func() {
			ready.Done()
			<-start
			bg()
		}()
	}
	for _, f := range fg {
		go func(f func()) {
			ready.Done()
			<-start
			f()
			done.Done()
		}(f)
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	return time.Since(t0)
}

func perUnit(d time.Duration, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(d.Nanoseconds()) / float64(n)
}
