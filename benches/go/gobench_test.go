package main

// Behaviour and value tests for gobench's parsers and workloads (no timing assertions).
// Run by make test-go: go test ./benches/go

import (
	"os"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

func TestParseSchedLine(t *testing.T) {
	s, ok := parseSchedLine("SCHED 28ms: gomaxprocs=2 idleprocs=1 threads=4 spinningthreads=1 idlethreads=1 runqueue=258 [128 0]")
	if !ok {
		t.Fatal("a well-formed line did not parse")
	}
	if s.gomaxprocs != 2 || s.idleprocs != 1 || s.threads != 4 || s.runqueue != 258 {
		t.Errorf("got %+v", s)
	}
	if len(s.local) != 2 || s.local[0] != 128 || s.local[1] != 0 {
		t.Errorf("per-P queues %v, want [128 0]", s.local)
	}
	for _, bad := range []string{
		"gobench: (1/2) go/spawn/procs:1",
		"SCHED 1ms: gomaxprocs=2 idleprocs=0 threads=4", // no runqueue
		"SCHED 1ms: gomaxprocs=x idleprocs=0 threads=4 runqueue=0 [0 0]",
		"SCHED 1ms: gomaxprocs=2 idleprocs=0 threads=4 runqueue=0 [0 0",
	} {
		if _, ok := parseSchedLine(bad); ok {
			t.Errorf("parsed a bad line: %q", bad)
		}
	}
}

// The captured stderr of a real -child run under GODEBUG=schedtrace=5 (testdata).
func TestSplitSchedByRepOnCapturedChild(t *testing.T) {
	f, err := os.Open("testdata/schedtrace_child.stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fwd strings.Builder
	got := splitSchedByRep(f, &fwd)
	raw, _ := os.ReadFile("testdata/schedtrace_child.stderr")
	inside, in := 0, false
	for _, l := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(l, "GOBENCH-MARK begin"):
			in = true
		case strings.HasPrefix(l, "GOBENCH-MARK end"):
			in = false
		case in && strings.HasPrefix(l, "SCHED "):
			inside++
		}
	}
	if inside == 0 {
		t.Fatal("fixture has no SCHED line inside a repetition")
	}
	if len(got) != 1 || len(got[0]) != inside {
		t.Fatalf("kept %d samples in %d reps, want %d in rep 0", len(got[0]), len(got), inside)
	}
	if strings.Contains(fwd.String(), "SCHED") || strings.Contains(fwd.String(), "GOBENCH-MARK") {
		t.Errorf("sched or mark lines were forwarded: %q", fwd.String())
	}
	for _, s := range got[0] {
		if s.gomaxprocs != 2 {
			t.Errorf("sample with gomaxprocs %d in a procs:2 child", s.gomaxprocs)
		}
	}
}

func TestSummariseSched(t *testing.T) {
	c := summariseSched([]schedSample{
		{gomaxprocs: 2, idleprocs: 1, runqueue: 10, local: []int{1, 2}},
		{gomaxprocs: 4, idleprocs: 0, runqueue: 30, local: []int{0, 0, 0, 5}},
	})
	want := map[string]float64{"sched_samples": 2, "idle_share": 0.25, "globrunq_mean": 20,
		"globrunq_max": 30, "localrunq_mean": 4}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if c := summariseSched(nil); len(c) != 1 || c["sched_samples"] != 0 {
		t.Errorf("no samples: %v", c)
	}
}

func TestParseMutexProfile(t *testing.T) {
	text := "--- mutex:\ncycles/second=2000000000\nsampling period=1\n" +
		"4000 3 @ 0x4 0x5\n#\t0x4\tsync.(*Mutex).Unlock+0x1\n1000 1 @ 0x6\n"
	n, d := parseMutexProfile(text)
	if n != 4 || d != 2500 {
		t.Errorf("count %d delay %v ns, want 4 and 2500", n, d)
	}
	if n, d := parseMutexProfile("--- mutex:\n"); n != 0 || d != 0 {
		t.Errorf("empty profile: %d %v", n, d)
	}
}

func TestLatStats(t *testing.T) {
	xs := make([]int64, 0, 100)
	for i := int64(100); i >= 1; i-- {
		xs = append(xs, i)
	}
	mean, p50, p99 := latStats(xs)
	if mean != 50.5 || p50 != 50 || p99 != 99 {
		t.Errorf("mean %v p50 %v p99 %v, want 50.5 50 99", mean, p50, p99)
	}
	if m, a, b := latStats(nil); m != 0 || a != 0 || b != 0 {
		t.Error("empty input")
	}
	if _, p50, p99 := latStats([]int64{7}); p50 != 7 || p99 != 7 {
		t.Error("one sample")
	}
}

func TestHistPercentile(t *testing.T) {
	b := []float64{0, 1, 2, 4, 8}
	a := &metrics.Float64Histogram{Counts: []uint64{5, 0, 0, 0}, Buckets: b}
	z := &metrics.Float64Histogram{Counts: []uint64{5, 50, 49, 1}, Buckets: b}
	// Bucket i is [b[i], b[i+1]); the answer is the upper bound of the bucket.
	if p := histPercentile(a, z, 50); p != 2 {
		t.Errorf("p50 %v, want 2 (the 5 earlier events are not counted)", p)
	}
	if p := histPercentile(a, z, 99); p != 4 {
		t.Errorf("p99 %v, want 4", p)
	}
	if p := histPercentile(a, a, 50); p != 0 {
		t.Errorf("no events: %v", p)
	}
}

func TestWorkloadsCountEveryUnit(t *testing.T) {
	if r := runSpawn(2500, 1000); r.iters != 2500 || r.counters["ns_per_spawn"] <= 0 {
		t.Errorf("spawn: %+v", r)
	}
	if r := runGosched(100); r.iters != 200 {
		t.Errorf("gosched: %d switches, want 200", r.iters)
	}
	if r := runChanPingPong(100); r.iters != 100 || r.counters["ns_per_switch"]*2 != r.counters["ns_per_roundtrip"] {
		t.Errorf("ping-pong: %+v", r)
	}
	for _, c := range []int{0, 1, 16} {
		if r := runChanThroughput(1000, c); r.iters != 1000 {
			t.Errorf("throughput cap %d: %+v", c, r)
		}
		r := runChanLatency(1000, c)
		if r.counters["samples"] != 1000 || r.counters["lat_p50_ns"] > r.counters["lat_p99_ns"] {
			t.Errorf("latency cap %d: %+v", c, r.counters)
		}
	}
	if got, _, _ := sweepWorkload(3000, 0); got != 3000 {
		t.Errorf("sweep: %d of 3000 ops arrived", got)
	}
	if r := runSweepResize(5000, 2); r.counters["lost"] != 0 || r.counters["resizes"] != 5 {
		t.Errorf("resize: %v", r.counters)
	}
	r := runMutex(1000, 4, 16)
	if r.iters != 1000 || r.counters["contentions"] < 0 {
		t.Errorf("mutex: %+v", r)
	}
}

func TestParkedCountsStackOfEveryGoroutine(t *testing.T) {
	r := runParked(10000)
	// Each parked goroutine owns at least one 2 KiB (Go 1.19 minimum) stack.
	if r.counters["stack_bytes"] < 2048 || r.counters["bytes_per_g"] <= 0 {
		t.Errorf("parked: %+v", r.counters)
	}
	if !strings.HasPrefix(parkedMemCheck(1<<50), "n/a: MemAvailable") || parkedMemCheck(1) != "" {
		t.Error("parkedMemCheck")
	}
}

func TestLayoutFromDWARF(t *testing.T) {
	l, err := readPLayout()
	if err != nil {
		t.Skipf("%v (go test links run-mode binaries with -w; make test-go builds with go test -c)", err)
	}
	c := l.counters()
	if c["runq_entries"] != 256 || c["runq_bytes"] != 256*8 {
		t.Errorf("runq: %v entries, %v bytes", c["runq_entries"], c["runq_bytes"])
	}
	if !(c["off_runqhead"] < c["off_runqtail"] && c["off_runqtail"] < c["off_runq"] && c["off_runq"] < c["off_runnext"]) {
		t.Errorf("field order: %v", c)
	}
	if c["runq_lines"] < 32 {
		t.Errorf("2048 bytes span %v lines", c["runq_lines"])
	}
}

func TestCalibrateReachesBenchtime(t *testing.T) {
	calls := 0
	b := &bench{run: func(n int64) result {
		calls++
		return result{iters: n, elapsed: 1000 * 1000 * timeUnit(n)}
	}}
	n := calibrate(b, 50*1000*1000*timeUnit(1))
	if n < 50 || calls > 10 {
		t.Errorf("calibrate: n=%d after %d calls", n, calls)
	}
}

// timeUnit converts a count to a Duration of that many nanoseconds.
func timeUnit(n int64) time.Duration { return time.Duration(n) }
