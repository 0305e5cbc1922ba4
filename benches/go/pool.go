package main

// The document's own case for P4.1.pool (chapter 4): a sync.Pool of worker objects against
// allocating a fresh one for every task.
//
// Reading:
//   go/pool/worker/pool:{0,1}/procs:{1,all}  n tasks, each run by a goroutine (batches of
//       1000, as go/spawn); a task takes a worker object (a poolWorkerBytes scratch buffer),
//       writes one byte per 64 bytes of it, and gives it back.  pool:1 takes it from a
//       sync.Pool and puts it back; pool:0 allocates it with new and drops it (garbage for
//       the GC).  ns_per_op = wall time / tasks.  allocs_per_op and bytes_per_op
//       (runtime.MemStats Mallocs / TotalAlloc deltas per task) and gc_per_kop (GC cycles
//       per 1000 tasks) are the manipulation check: pool:1 must allocate far less than
//       one worker per task, pool:0 at least one.
// Confounders: the goroutine spawn is common to both rows; the GC's cost depends on
// GOGC (default) and the heap size.

import (
	"runtime"
	"sync"
	"time"
)

const poolWorkerBytes = 16 << 10

type poolWorker struct {
	buf [poolWorkerBytes]byte
	n   int
}

var poolSink int64

func runPool(n int64, usePool bool) result {
	pool := sync.Pool{New: func() any { return new(poolWorker) }}
	var wg sync.WaitGroup
	var sum int64
	var mu sync.Mutex
	task := func() {
		var w *poolWorker
		if usePool {
			w = pool.Get().(*poolWorker)
		} else {
			w = new(poolWorker)
		}
		for i := 0; i < poolWorkerBytes; i += 64 {
			w.buf[i]++
		}
		w.n++
		v := int64(w.buf[0]) + int64(w.n)
		if usePool {
			pool.Put(w)
		}
		mu.Lock()
		sum += v
		mu.Unlock()
		wg.Done()
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	t0 := time.Now()
	spawnBatches(n, spawnBatch, &wg, task)
	el := time.Since(t0)
	runtime.ReadMemStats(&ms1)
	poolSink += sum
	fn := float64(n)
	return result{iters: n, elapsed: el, counters: map[string]float64{
		"ns_per_op":     perUnit(el, n),
		"allocs_per_op": float64(ms1.Mallocs-ms0.Mallocs) / fn,
		"bytes_per_op":  float64(ms1.TotalAlloc-ms0.TotalAlloc) / fn,
		"gc_per_kop":    float64(ms1.NumGC-ms0.NumGC) * 1000 / fn,
		"worker_bytes":  poolWorkerBytes}}
}
