package main

// GOMAXPROCS sweep: the Go side of benches/procs_sweep.c. Claims T5.idle (healthy P idle
// share > 30%), T5.grunq (healthy global run queue < 200), T5.resize, and N3.3.sched
// (scheduling delay) from Go's own /sched/latencies:seconds histogram.
//
// Workload, one op: spawn a goroutine that does sweepWork xorshift steps and sends the
// result on one unbuffered channel; NumCPU consumer goroutines receive and count. The
// spawner starts ops in batches of sweepBatch and waits for each batch, so the load is
// bursts of runnable goroutines followed by blocking channel traffic. Every op is counted
// by a consumer; a lost op stops the program.
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
// go/procs/sweep/resize runs the same workload at the largest GOMAXPROCS while another
// goroutine flips GOMAXPROCS between 1 and that maximum every resizeEvery (each flip stops
// the world); resizes counts the flips.

import (
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	sweepBatch  = 1024
	sweepWork   = 64
	resizeEvery = 5 * time.Millisecond
	schedLatKey = "/sched/latencies:seconds"
)

type paddedCount struct {
	n   int64
	sum uint64
	_   [48]byte
}

// sweepWorkload runs n ops and returns how many the consumers received.
func sweepWorkload(n int64) int64 {
	res := make(chan uint64)
	consumers := runtime.NumCPU()
	counts := make([]paddedCount, consumers)
	var cwg, pwg sync.WaitGroup
	cwg.Add(consumers)
	for c := 0; c < consumers; c++ {
		go func(pc *paddedCount) {
			for v := range res {
				pc.n++
				pc.sum += v
			}
			cwg.Done()
		}(&counts[c])
	}
	work := func(x uint64) {
		res <- spin(x, sweepWork)
		pwg.Done()
	}
	for left := n; left > 0; left -= sweepBatch {
		k := int64(sweepBatch)
		if left < k {
			k = left
		}
		pwg.Add(int(k))
		for i := int64(0); i < k; i++ {
			go work(uint64(left - i))
		}
		pwg.Wait()
	}
	close(res)
	cwg.Wait()
	var got int64
	for _, c := range counts {
		got += c.n
	}
	return got
}

func runSweep(n int64) result {
	lat0 := schedLatencies()
	t0 := time.Now()
	got := sweepWorkload(n)
	el := time.Since(t0)
	if got != n {
		fail("sweep: %d of %d ops arrived", got, n)
	}
	return sweepResult(n, el, lat0)
}

func runSweepResize(n int64, max int) result {
	lat0 := schedLatencies()
	stop := make(chan struct{})
	flips := make(chan int64)
	runtime.GOMAXPROCS(max)
	go func() {
		var k int64
		t := time.NewTicker(resizeEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				flips <- k
				return
			case <-t.C:
				k++
				if k%2 == 1 {
					runtime.GOMAXPROCS(1)
				} else {
					runtime.GOMAXPROCS(max)
				}
			}
		}
	}()
	t0 := time.Now()
	got := sweepWorkload(n)
	el := time.Since(t0)
	close(stop)
	k := <-flips
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
