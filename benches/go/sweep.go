package main

// GOMAXPROCS sweep: the Go side of benches/procs_sweep.c. Claims T5.idle (healthy P idle
// share > 30%), T5.grunq (healthy global run queue < 200), T5.resize, and N3.3.sched
// (scheduling delay) from Go's own /sched/latencies:seconds histogram.
//
// Workload, one op (the same work as benches/procs_sweep.c, so ours/Go compares runtimes):
// the spawner starts one goroutine per op; it does sweepWork/2 dependent multiply-adds
// (the C bench's LCG step), runtime.Gosched() once (Go's goes through the global run
// queue, ours to the tail of the local one: that difference is what is compared), another
// sweepWork/2, then sends its result on one unbuffered channel; sweepReceivers consumer
// goroutines receive, give back one token of the window and count.  At most sweepWindow
// ops are in flight: the spawner puts a token into a buffered channel of that capacity
// before each spawn and blocks when it is full.  The timed region is the spawn loop until
// the last op was received; the consumers start before it and stop after it.  Every op is
// counted by a consumer; a lost op stops the program.
//
// Each row runs in a child process with GODEBUG=schedtrace=<ms>; the parent keeps the
// SCHED lines printed inside each timed repetition and derives:
//   idle_share      mean over samples of idleprocs / gomaxprocs
//   globrunq_mean   mean of runqueue (global run queue length), globrunq_max its maximum
//   localrunq_mean  mean of the summed per-P run queue lengths
//   sched_samples   how many SCHED lines fell inside the repetition
// and from runtime/metrics in the child:
//   sched_lat_p50_ns, sched_lat_p99_ns  time goroutines spent runnable before running,
//                   bucket upper bounds of Go's histogram (coarse: buckets grow
//                   geometrically)
//   ops_per_s, ns_per_op  throughput.
// go/procs/sweep/resize starts at GOMAXPROCS 1 and changes GOMAXPROCS every
// resizeEvery ops (at op resizeEvery/2 of each block), walking 1, 2, .., max, .., 2, 1 and
// round again, as procs/sweep/resize does (each change stops the world); resizes counts
// the changes.

import (
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	sweepWindow    = 256  // ops in flight at most (procs_sweep.c SW_WINDOW)
	sweepReceivers = 4    // consumer goroutines (SW_RECEIVERS)
	sweepWork      = 2000 // multiply-adds per op, half before and half after a Gosched (SW_WORK)
	resizeEvery    = 1024 // ops between GOMAXPROCS changes in the resize row (SW_RESIZE_EVERY)
	schedLatKey    = "/sched/latencies:seconds"
)

type paddedCount struct {
	n   int64
	sum uint64
	_   [48]byte
}

// lcg does k dependent multiply-adds (Knuth's MMIX LCG step), the unit of work of
// procs_sweep.c's sw_task.
func lcg(x uint64, k int) uint64 {
	for i := 0; i < k; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// nextProcs is the resize walk 1, 2, .., max, .., 2, 1, 2, ... at step k (procs_sweep.c
// next_procs).
func nextProcs(k int64, max int) int {
	if max <= 1 {
		return 1
	}
	period := 2 * int64(max-1)
	i := k % period
	if i < int64(max) {
		return int(i + 1)
	}
	return int(2*int64(max) - 1 - i)
}

// sweepWorkload runs n ops and returns how many the consumers received, the time of the
// timed region, and (resizeMax > 0) how many GOMAXPROCS changes it made.
func sweepWorkload(n int64, resizeMax int) (int64, time.Duration, int64) {
	res := make(chan uint64)
	window := make(chan struct{}, sweepWindow)
	counts := make([]paddedCount, sweepReceivers)
	var cwg, pwg sync.WaitGroup
	cwg.Add(sweepReceivers)
	for c := 0; c < sweepReceivers; c++ {
		go func(pc *paddedCount) {
			for v := range res {
				<-window // frees a slot for the spawner
				pc.n++
				pc.sum += v
				pwg.Done()
			}
			cwg.Done()
		}(&counts[c])
	}
	work := func(x uint64) {
		x = lcg(x, sweepWork/2)
		runtime.Gosched()
		res <- lcg(x, sweepWork/2)
	}
	runtime.Gosched()
	var resizes int64
	t0 := time.Now()
	for i := int64(0); i < n; i++ {
		if resizeMax > 0 && i%resizeEvery == resizeEvery/2 {
			resizes++
			runtime.GOMAXPROCS(nextProcs(resizes, resizeMax))
		}
		window <- struct{}{} // blocks while sweepWindow ops are in flight
		pwg.Add(1)
		go work(uint64(i + 1))
	}
	pwg.Wait()
	el := time.Since(t0)
	close(res)
	cwg.Wait()
	var got int64
	for _, c := range counts {
		got += c.n
	}
	return got, el, resizes
}

func runSweep(n int64) result {
	lat0 := schedLatencies()
	got, el, _ := sweepWorkload(n, 0)
	if got != n {
		fail("sweep: %d of %d ops arrived", got, n)
	}
	return sweepResult(n, el, lat0)
}

func runSweepResize(n int64, max int) result {
	lat0 := schedLatencies()
	runtime.GOMAXPROCS(1)
	got, el, k := sweepWorkload(n, max)
	runtime.GOMAXPROCS(max)
	if got != n {
		fail("sweep resize: %d of %d ops arrived across %d GOMAXPROCS changes", got, n, k)
	}
	r := sweepResult(n, el, lat0)
	r.counters["resizes"] = float64(k)
	r.counters["lost"] = float64(n - got)
	return r
}

func sweepResult(n int64, el time.Duration, lat0 *metrics.Float64Histogram) result {
	c := map[string]float64{"ns_per_op": perUnit(el, n), "ops_per_s": float64(n) / el.Seconds()}
	if lat1 := schedLatencies(); lat0 != nil && lat1 != nil {
		c["sched_lat_p50_ns"] = histPercentile(lat0, lat1, 50) * 1e9
		c["sched_lat_p99_ns"] = histPercentile(lat0, lat1, 99) * 1e9
	}
	return result{iters: n, elapsed: el, counters: c}
}

// schedLatencies reads Go's scheduling-latency histogram, or nil when this Go lacks it.
func schedLatencies() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: schedLatKey}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	h := s[0].Value.Float64Histogram()
	cp := &metrics.Float64Histogram{Counts: append([]uint64(nil), h.Counts...), Buckets: h.Buckets}
	return cp
}

// histPercentile returns the upper bound (seconds) of the bucket holding percentile p of
// the events recorded between histograms a and b (b later). Infinite bounds fall back to
// the finite side.
func histPercentile(a, b *metrics.Float64Histogram, p int) float64 {
	var total uint64
	d := make([]uint64, len(b.Counts))
	for i := range b.Counts {
		d[i] = b.Counts[i] - a.Counts[i]
		total += d[i]
	}
	if total == 0 {
		return 0
	}
	want := (uint64(p)*total + 99) / 100
	var cum uint64
	for i, x := range d {
		cum += x
		if cum >= want {
			hi := b.Buckets[i+1]
			if hi > 1e300 {
				hi = b.Buckets[i]
			}
			return hi
		}
	}
	return b.Buckets[len(b.Buckets)-1]
}

// schedSample is one GODEBUG=schedtrace line:
// "SCHED 12ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=1 runqueue=0 [0 0]".
type schedSample struct {
	gomaxprocs, idleprocs, threads, runqueue int
	local                                    []int // per-P run queue lengths
}

func parseSchedLine(line string) (schedSample, bool) {
	var s schedSample
	if !strings.HasPrefix(line, "SCHED ") {
		return s, false
	}
	body := line
	if i := strings.IndexByte(line, '['); i >= 0 {
		j := strings.IndexByte(line[i:], ']')
		if j < 0 {
			return s, false
		}
		for _, f := range strings.Fields(line[i+1 : i+j]) {
			v, err := strconv.Atoi(f)
			if err != nil {
				return s, false
			}
			s.local = append(s.local, v)
		}
		body = line[:i]
	}
	seen := 0
	for _, f := range strings.Fields(body) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		x, err := strconv.Atoi(v)
		if err != nil {
			return s, false
		}
		switch k {
		case "gomaxprocs":
			s.gomaxprocs, seen = x, seen|1
		case "idleprocs":
			s.idleprocs, seen = x, seen|2
		case "threads":
			s.threads = x
		case "runqueue":
			s.runqueue, seen = x, seen|4
		}
	}
	return s, seen == 7 && s.gomaxprocs > 0
}

// summariseSched turns the samples of one repetition into counters.
func summariseSched(ss []schedSample) map[string]float64 {
	c := map[string]float64{"sched_samples": float64(len(ss))}
	if len(ss) == 0 {
		return c
	}
	var idle, grq, lrq float64
	grqMax := 0
	for _, s := range ss {
		idle += float64(s.idleprocs) / float64(s.gomaxprocs)
		grq += float64(s.runqueue)
		if s.runqueue > grqMax {
			grqMax = s.runqueue
		}
		for _, l := range s.local {
			lrq += float64(l)
		}
	}
	n := float64(len(ss))
	c["idle_share"] = idle / n
	c["globrunq_mean"] = grq / n
	c["globrunq_max"] = float64(grqMax)
	c["localrunq_mean"] = lrq / n
	return c
}
