package main

// Channel capacity sweep: the Go side of benches/chan_buffer.c. Claim T10.lat (the
// document: buffers of 1 / 256 / 1024 give 82 / 29 / 34 us mean latency).
//
// Reading:
//   go/chan/throughput/cap:C/procs:P  one producer sends n ints, one consumer receives them;
//       ns_per_msg = wall time / n, msgs_per_s its inverse. Capacity amortises the
//       hand-off: expect the figure to fall from cap 0 to 16 and flatten after.
//   go/chan/latency/cap:C/procs:P     the producer sends a monotonic timestamp as fast as
//       it can; the consumer records now - stamp. lat_mean_ns / lat_p50_ns / lat_p99_ns
//       are send-to-receive delays. With a saturating producer the buffer is mostly full,
//       so latency grows with capacity (queueing: about cap x ns_per_msg): a bigger
//       buffer buys throughput, not latency. real_time of this row is wall time per
//       message including the two clock reads. At most 1<<20 samples per repetition are
//       kept (every k-th message).
//   go/chan/openloop/cap:C/procs:P/rate:R  the producer sends at an offered rate R/s below
//       saturation (Poisson arrivals); lat_* is receive - send. Judged rows of T10.lat.
// Confounders: at procs:2 Go chooses where the two goroutines run; a cross-CPU wake-up on
// this kind of host costs tens of microseconds, a same-P hand-off tens of nanoseconds.

import (
	"math/rand"
	"runtime"
	"sort"
	"time"
)

const maxLatSamples = 1 << 20

func runChanThroughput(n int64, capacity int) result {
	c := make(chan int64, capacity)
	var got int64
	el := gated(func() {
		for i := int64(0); i < n; i++ {
			c <- i
		}
		close(c)
	}, func() {
		for range c {
			got++
		}
	})
	if got != n {
		fail("chan throughput: received %d of %d messages", got, n)
	}
	return result{iters: n, elapsed: el, counters: map[string]float64{
		"ns_per_msg": perUnit(el, n), "msgs_per_s": float64(n) / el.Seconds(),
		"cap": float64(capacity)}}
}

func runChanLatency(n int64, capacity int) result {
	c := make(chan int64, capacity)
	base := time.Now()
	stride := (n + maxLatSamples - 1) / maxLatSamples
	lat := make([]int64, 0, n/stride+1)
	el := gated(func() {
		for i := int64(0); i < n; i++ {
			c <- int64(time.Since(base))
		}
		close(c)
	}, func() {
		var i int64
		for stamp := range c {
			now := int64(time.Since(base))
			if i%stride == 0 {
				lat = append(lat, now-stamp)
			}
			i++
		}
	})
	mean, p50, p99 := latStats(lat)
	return result{iters: n, elapsed: el, counters: map[string]float64{
		"lat_mean_ns": mean, "lat_p50_ns": p50, "lat_p99_ns": p99,
		"samples": float64(len(lat)), "cap": float64(capacity)}}
}

// latStats returns mean, median and 99th percentile (nearest rank) of xs; it sorts xs.
func latStats(xs []int64) (mean, p50, p99 float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	var sum float64
	for _, x := range xs {
		sum += float64(x)
	}
	return sum / float64(len(xs)), float64(xs[rank(len(xs), 50)]), float64(xs[rank(len(xs), 99)])
}

// rank is the nearest-rank index of percentile p in a sorted slice of length n.
func rank(n int, p int) int {
	r := (p*n + 99) / 100 // ceil(p*n/100), 1-based
	if r < 1 {
		r = 1
	}
	if r > n {
		r = n
	}
	return r - 1
}

// runChanOpenLoop is the Go side of chan/openloop (benches/chan_buffer.c): the producer
// sends n messages at an offered rate (Poisson arrivals, exponential gaps of mean
// 1/rate, fixed seed), waiting for each arrival by yielding (runtime.Gosched: time.Sleep
// overshoots by tens of microseconds); the consumer records receive - send per message.
// A producer more than olLateGaps mean gaps late (its thread was descheduled) restarts
// its arrivals instead of sending the backlog as one burst; late_resets counts it and
// achieved_rate_hz (messages / elapsed s) shows the loss: the manipulation check.
func runChanOpenLoop(n int64, capacity int, rate float64) result {
	type msg struct{ due, sent int64 }
	const olLateGaps = 10
	c := make(chan msg, capacity)
	base := time.Now()
	stride := (n + maxLatSamples - 1) / maxLatSamples
	lat := make([]int64, 0, n/stride+1)
	var arrivalSum, lagSum float64
	var resets int64
	meanGap := 1e9 / rate
	rng := rand.New(rand.NewSource(int64(capacity) + 1))
	el := gated(func() {
		due := float64(time.Since(base))
		for i := int64(0); i < n; i++ {
			due += rng.ExpFloat64() * meanGap
			t := int64(time.Since(base))
			for float64(t) < due {
				runtime.Gosched()
				t = int64(time.Since(base))
			}
			if float64(t) > due+olLateGaps*meanGap {
				due = float64(t)
				resets++
			}
			lagSum += float64(t) - due
			c <- msg{due: int64(due), sent: t}
		}
		close(c)
	}, func() {
		var i int64
		for m := range c {
			now := int64(time.Since(base))
			if i%stride == 0 {
				lat = append(lat, now-m.sent)
			}
			arrivalSum += float64(now - m.due)
			i++
		}
	})
	mean, p50, p99 := latStats(lat)
	return result{iters: n, elapsed: el, counters: map[string]float64{
		"lat_mean_ns": mean, "lat_p50_ns": p50, "lat_p99_ns": p99,
		"arrival_lat_mean_ns": arrivalSum / float64(n), "send_lag_mean_ns": lagSum / float64(n),
		"late_resets": float64(resets), "offered_rate_hz": rate,
		"achieved_rate_hz": float64(n) / el.Seconds(),
		"achieved_share":   float64(n) / el.Seconds() / rate,
		"samples":          float64(len(lat)), "cap": float64(capacity)}}
}
