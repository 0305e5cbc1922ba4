package main

// Bytes per parked goroutine: the Go side of benches/stack_rss.c. Claim T1.stack.g (the
// document: ~2 KB initial stack, grows dynamically).
//
// Each repetition runs in a fresh child process: Go keeps dead goroutines and their
// default-size stacks in gFree for reuse, so a second round in the same process would
// find its memory already committed and report ~0.
//
// Reading (go/stack/parked/n:N, iterations = N):
//   bytes_per_g       VmRSS delta (/proc/self/status) / N: everything the process committed
//                     for one parked goroutine (stack, g struct, sudog, GC metadata).
//   stack_bytes       runtime.MemStats.StackInuse delta / N: the stack alone (Go 1.19's
//                     initial stack is 2048 B unless the stack-size heuristic raised it).
//   heap_bytes_per_g  HeapInuse delta / N (g structs live in the heap).
//   ns_per_g          wall time to start the N goroutines until all are parked; mostly
//                     first-touch page faults on this kind of host.
// The goroutines are started with all Ps; each marks a WaitGroup and parks on a channel
// receive until the measurement is taken.

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

func runParked(n int64) result {
	runtime.GC()
	debug.FreeOSMemory()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	rss0 := procStatusKiB("VmRSS")
	stop := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(int(n))
	done.Add(int(n))
	t0 := time.Now()
	for i := int64(0); i < n; i++ {
		go func() {
			ready.Done()
			<-stop
			done.Done()
		}()
	}
	ready.Wait()
	el := time.Since(t0)
	rss1 := procStatusKiB("VmRSS")
	runtime.ReadMemStats(&ms1)
	close(stop)
	done.Wait()
	fn := float64(n)
	return result{iters: n, elapsed: el, counters: map[string]float64{
		"bytes_per_g":      float64(rss1-rss0) * 1024 / fn,
		"stack_bytes":      float64(int64(ms1.StackInuse)-int64(ms0.StackInuse)) / fn,
		"heap_bytes_per_g": float64(int64(ms1.HeapInuse)-int64(ms0.HeapInuse)) / fn,
		"ns_per_g":         perUnit(el, n),
		"n":                fn,
	}}
}

// parkedMemCheck says why N parked goroutines should not be started here, or "".
// It asks for 3x the ~2.7 KB a parked goroutine commits, so a 1M run needs ~8 GiB free.
func parkedMemCheck(n int64) string {
	avail := meminfoKiB("MemAvailable")
	if avail < 0 {
		return "n/a: cannot read MemAvailable from /proc/meminfo"
	}
	const kibPerG = 8 // 3x ~2.7 KB, rounded up
	if n > avail/kibPerG {
		return fmt.Sprintf("n/a: MemAvailable %d MiB < %d MiB needed for %d parked goroutines",
			avail/1024, n/1024*kibPerG, n)
	}
	return ""
}

// procStatusKiB returns the kB value of key in /proc/self/status, or -1.
func procStatusKiB(key string) int64 { return kibField("/proc/self/status", key) }

// meminfoKiB returns the kB value of key in /proc/meminfo, or -1.
func meminfoKiB(key string) int64 { return kibField("/proc/meminfo", key) }

func kibField(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			return -1
		}
		x, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			return -1
		}
		return x
	}
	return -1
}
