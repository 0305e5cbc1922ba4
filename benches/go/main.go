// Command gobench runs the Go counterparts of the suite's C benches on Go's own runtime,
// so that the tables can put "Go (this host)" beside "our runtime" and "pthread" from the
// same make-bench run.
//
// It is a plain program, not `go test -bench`, because three of the benches need things
// testing.B does not give: a fresh process per repetition (bytes per parked goroutine; a
// dead goroutine keeps its stack in Go's gFree list, so a second round in one process
// would measure nothing), a GODEBUG=schedtrace child whose stderr is sampled (the
// GOMAXPROCS sweep), and fixed argument sets shared with the C benches.
//
// Output: JSON lines on stdout, one object per line, for scripts/goparse.py to convert
// into Google-Benchmark-1.7.1-shaped JSON (benches/FORMAT.md, rows named go/...):
//
//	{"type":"context", "go_version":..., "gomaxprocs":..., ...}       first line
//	{"type":"run", "name":..., "label":..., "rep":i, "reps":R,
//	 "iterations":n, "real_ns":..., "cpu_ns":..., "counters":{...}}  one per repetition
//	{"type":"skip", "name":..., "label":..., "reason":"n/a: ..."}    bench cannot run here
//
// real_ns and cpu_ns are totals for the repetition (cpu_ns: user+system time of the whole
// process, all threads); iterations counts the unit the row is about (goroutines spawned,
// switches, round trips, messages, ops). Counters are already per unit and carry their
// unit in the name (ns_per_spawn, bytes_per_g, ...). Progress goes to stderr.
//
// Timing hygiene, after the C harness: all CPUs are warmed by spinning before the first
// bench (the host runs slow right after idling), each bench is calibrated testing.B-style
// until one run lasts -benchtime (the calibration runs are the warm-up), then runs -reps
// repetitions of that size; workers wait on a ready/go barrier before the clock starts.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// result is what one timed run of a bench reports.
type result struct {
	iters    int64              // units done (spawns, switches, messages, ops)
	elapsed  time.Duration      // wall time of the timed region
	counters map[string]float64 // per-unit derived metrics, unit in the name
}

// bench is one row (one argument set) of a bench family.
type bench struct {
	name    string // go/<area>/<what>[/<arg>:<val>...], benches/FORMAT.md
	summary string
	claims  string // comma separated claim IDs, becomes the row's label
	procs   int    // GOMAXPROCS for the run; 0 leaves it alone
	// run does n units and returns their timing. n is decided by calibration unless
	// fixedN > 0.
	run    func(n int64) result
	fixedN int64
	// freshPerRep runs every repetition in a new child process (memory figures).
	freshPerRep bool
	// child runs calibration and all repetitions in one child process with this extra
	// environment (GODEBUG=schedtrace for the sweep); the parent samples its stderr.
	child    bool
	childEnv []string
	// minBenchtime raises -benchtime for this row (the sweep needs several schedtrace
	// samples inside every repetition).
	minBenchtime time.Duration
	// skip, when non-nil, returns a reason ("n/a: ...") not to run on this host.
	skip func() string
}

// preset holds the argument sets and run lengths as data (perf bench's presets).
type preset struct {
	reps        int
	benchtime   time.Duration
	warmup      time.Duration
	stackN      []int64
	chanCaps    []int
	chanProcs   []int
	openRates   []int // offered rates (messages/s) of go/chan/openloop
	sweepMax    int   // GOMAXPROCS sweep goes 1..sweepMax (0: 2 x NumCPU)
	mutexGs     []int
	mutexShards []int
	schedtrace  int // ms between GODEBUG=schedtrace samples in the sweep
}

var presets = map[string]preset{
	"quick": {reps: 5, benchtime: 60 * time.Millisecond, warmup: 300 * time.Millisecond,
		stackN: []int64{100000, 1000000}, chanCaps: []int{0, 1, 16, 256, 1024},
		chanProcs: []int{1, 2}, mutexGs: []int{4, 64}, mutexShards: []int{1, 16},
		openRates: []int{100000}, schedtrace: 5},
	"full": {reps: 10, benchtime: 500 * time.Millisecond, warmup: 1000 * time.Millisecond,
		stackN: []int64{100000, 1000000}, chanCaps: []int{0, 1, 16, 256, 1024},
		chanProcs: []int{1, 2}, mutexGs: []int{2, 4, 16, 64, 256}, mutexShards: []int{1, 16},
		openRates: []int{10000, 100000, 1000000}, schedtrace: 10},
}

var (
	flagPreset    = flag.String("preset", "quick", "argument sets and run lengths: quick|full")
	flagReps      = flag.Int("reps", 0, "repetitions per row (0: the preset's)")
	flagBenchtime = flag.Duration("benchtime", 0, "target length of one repetition (0: the preset's)")
	flagWarmup    = flag.Duration("warmup", -1, "spin all CPUs this long before the first bench (-1: the preset's)")
	flagFilter    = flag.String("filter", "", "run only rows whose name matches this regexp")
	flagList      = flag.Bool("list", false, "print name, summary and claims of every row, then exit")
	flagChild     = flag.String("child", "", "internal: run the named row in this process and print its run lines")
	flagN         = flag.Int64("n", 0, "internal: units for -child of a fixed-size row")
	flagStackN    = flag.String("stackn", "", "comma-separated goroutine counts for go/stack/parked (default: the preset's)")
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: gobench [-preset quick|full] [-reps N] [-benchtime D] [-filter RE] [-list]\n"+
			"Runs the Go counterparts of the suite's benches; JSON lines on stdout (see main.go).\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		fail("unexpected argument %q (see -help)", flag.Arg(0))
	}
	pr, ok := presets[*flagPreset]
	if !ok {
		fail("unknown preset %q: want quick or full", *flagPreset)
	}
	if *flagReps < 0 {
		fail("-reps must be >= 0")
	}
	if *flagReps > 0 {
		pr.reps = *flagReps
	}
	if *flagBenchtime > 0 {
		pr.benchtime = *flagBenchtime
	}
	if *flagWarmup >= 0 {
		pr.warmup = *flagWarmup
	}
	if *flagStackN != "" {
		pr.stackN = nil
		for _, f := range strings.Split(*flagStackN, ",") {
			v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil || v <= 0 {
				fail("bad -stackn entry %q: want positive integers", f)
			}
			pr.stackN = append(pr.stackN, v)
		}
	}
	all := registry(pr)

	if *flagChild != "" {
		runChild(all, pr)
		return
	}
	var re *regexp.Regexp
	if *flagFilter != "" {
		var err error
		if re, err = regexp.Compile(*flagFilter); err != nil {
			fail("bad -filter: %v", err)
		}
	}
	var sel []*bench
	for _, b := range all {
		if re == nil || re.MatchString(b.name) {
			sel = append(sel, b)
		}
	}
	if *flagList {
		for _, b := range sel {
			fmt.Printf("%-44s %-40s %s\n", b.name, b.claims, b.summary)
		}
		return
	}
	if len(sel) == 0 {
		fail("-filter %q matches no row (see -list)", *flagFilter)
	}

	out := bufio.NewWriter(os.Stdout)
	emit(out, map[string]interface{}{
		"type": "context", "go_version": runtime.Version(), "gomaxprocs": runtime.GOMAXPROCS(0),
		"num_cpu": runtime.NumCPU(), "goos": runtime.GOOS, "goarch": runtime.GOARCH,
		"preset": *flagPreset, "reps": pr.reps, "benchtime_ns": pr.benchtime.Nanoseconds(),
		"warmup_ns": pr.warmup.Nanoseconds(),
		"cpu_time":  "user+system time of the whole process (all threads) per iteration",
	})
	out.Flush()
	warmAllCPUs(pr.warmup)
	start := time.Now()
	for i, b := range sel {
		progress("(%d/%d) %s  [%.1fs]", i+1, len(sel), b.name, time.Since(start).Seconds())
		if b.skip != nil {
			if why := b.skip(); why != "" {
				emit(out, map[string]interface{}{"type": "skip", "name": b.name, "label": b.claims, "reason": why})
				out.Flush()
				continue
			}
		}
		switch {
		case b.freshPerRep:
			for rep := 0; rep < pr.reps; rep++ {
				for _, line := range childRun(b, pr, 1, b.fixedN) {
					line["rep"], line["reps"] = rep, pr.reps
					emit(out, line)
				}
			}
		case b.child:
			for _, line := range childRun(b, pr, pr.reps, 0) {
				emit(out, line)
			}
		default:
			for _, r := range measure(b, pr, pr.reps) {
				emit(out, r)
			}
		}
		out.Flush()
	}
	progress("done: %d rows in %.1fs", len(sel), time.Since(start).Seconds())
}

// measure calibrates b (unless fixed-size) and returns one run line per repetition.
// Called in the process that does the work.
func measure(b *bench, pr preset, reps int) []map[string]interface{} {
	if b.procs > 0 {
		old := runtime.GOMAXPROCS(b.procs)
		defer runtime.GOMAXPROCS(old)
	}
	n := b.fixedN
	if n == 0 {
		d := pr.benchtime
		if d < b.minBenchtime {
			d = b.minBenchtime
		}
		n = calibrate(b, d)
	}
	var lines []map[string]interface{}
	for rep := 0; rep < reps; rep++ {
		markRep("begin", rep)
		cpu0 := cpuTime()
		r := b.run(n)
		cpu := cpuTime() - cpu0
		markRep("end", rep)
		lines = append(lines, map[string]interface{}{
			"type": "run", "name": b.name, "label": b.claims, "rep": rep, "reps": reps,
			"iterations": r.iters, "real_ns": r.elapsed.Nanoseconds(), "cpu_ns": cpu.Nanoseconds(),
			"gomaxprocs": runtime.GOMAXPROCS(0), "counters": r.counters,
		})
	}
	return lines
}

// calibrate grows n as testing.B does until one run takes at least d, and returns that n.
// The runs it makes are the bench's warm-up.
func calibrate(b *bench, d time.Duration) int64 {
	n := int64(1)
	for {
		r := b.run(n)
		if r.elapsed >= d || n >= 1e9 {
			return n
		}
		next := n * 100
		if r.elapsed > 0 {
			next = int64(float64(n) * 1.2 * float64(d) / float64(r.elapsed))
		}
		if next > n*100 {
			next = n * 100
		}
		if next <= n {
			next = n + 1
		}
		n = next
	}
}

// markRep brackets a timed repetition on stderr so that a parent sampling GODEBUG=
// schedtrace lines (written to fd 2 by the runtime) knows which lines fall inside it.
// os.Stderr is unbuffered, so the marks and the runtime's lines keep their order.
func markRep(what string, rep int) {
	if *flagChild != "" {
		fmt.Fprintf(os.Stderr, "GOBENCH-MARK %s %d\n", what, rep)
	}
}

// runChild is the -child entry point: measure one row and print its run lines.
func runChild(all []*bench, pr preset) {
	for _, b := range all {
		if b.name != *flagChild {
			continue
		}
		if *flagN > 0 {
			b.fixedN = *flagN
		}
		out := bufio.NewWriter(os.Stdout)
		for _, l := range measure(b, pr, pr.reps) {
			emit(out, l)
		}
		out.Flush()
		return
	}
	fail("-child: no row named %q", *flagChild)
}

// childRun re-executes this program for row b and returns its run lines, with the
// schedtrace samples of each repetition folded into its counters.
func childRun(b *bench, pr preset, reps int, n int64) []map[string]interface{} {
	self, err := os.Executable()
	if err != nil {
		fail("os.Executable: %v", err)
	}
	args := []string{"-child", b.name, "-preset", *flagPreset, "-reps", strconv.Itoa(reps),
		"-benchtime", pr.benchtime.String(), "-stackn", joinInts(pr.stackN)}
	if n > 0 {
		args = append(args, "-n", strconv.FormatInt(n, 10))
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), b.childEnv...)
	// The child dies with this process (a killed make bench leaves nothing running).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	errp, err := cmd.StderrPipe()
	if err != nil {
		fail("pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		fail("starting child for %s: %v", b.name, err)
	}
	samples := splitSchedByRep(errp, os.Stderr)
	if err := cmd.Wait(); err != nil {
		fail("child for %s failed: %v", b.name, err)
	}
	var lines []map[string]interface{}
	for _, s := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var m map[string]interface{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			fail("child for %s printed a bad line %q: %v", b.name, s, err)
		}
		if len(b.childEnv) > 0 {
			r := int(m["rep"].(float64))
			c := m["counters"].(map[string]interface{})
			for k, v := range summariseSched(samples[r]) {
				c[k] = v
			}
		}
		lines = append(lines, m)
	}
	return lines
}

// splitSchedByRep reads a child's stderr: GODEBUG=schedtrace lines between
// "GOBENCH-MARK begin <rep>" and "GOBENCH-MARK end <rep>" are parsed and kept per
// repetition, SCHED lines outside repetitions are dropped, anything else is copied to fwd.
func splitSchedByRep(r io.Reader, fwd io.Writer) map[int][]schedSample {
	samples := map[int][]schedSample{}
	rep := -1
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var n int
		switch {
		case strings.HasPrefix(line, "SCHED "):
			if s, ok := parseSchedLine(line); ok && rep >= 0 {
				samples[rep] = append(samples[rep], s)
			}
		case scanMark(line, "begin", &n):
			rep = n
		case scanMark(line, "end", &n):
			rep = -1
		default:
			fmt.Fprintln(fwd, line)
		}
	}
	return samples
}

func joinInts(xs []int64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(s, ",")
}

func scanMark(line, what string, rep *int) bool {
	p := "GOBENCH-MARK " + what + " "
	if !strings.HasPrefix(line, p) {
		return false
	}
	v, err := strconv.Atoi(line[len(p):])
	*rep = v
	return err == nil
}

// emit writes v as one JSON line (Encode appends the newline).
func emit(w *bufio.Writer, v interface{}) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fail("json: %v", err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// warmAllCPUs spins one goroutine per CPU for d, so that the first bench does not run on
// CPUs still clocked down from idling (HOST-NOTES: up to 1.6x slower for a few 100 ms).
func warmAllCPUs(d time.Duration) {
	if d <= 0 {
		return
	}
	n := runtime.NumCPU()
	done := make(chan uint64, n)
	deadline := time.Now().Add(d)
	for i := 0; i < n; i++ {
		go func(x uint64) {
			for time.Now().Before(deadline) {
				x = spin(x, 1000)
			}
			done <- x
		}(uint64(i + 1))
	}
	for i := 0; i < n; i++ {
		<-done
	}
}

// spin is a small, optimisation-proof unit of CPU work (xorshift steps).
func spin(x uint64, k int) uint64 {
	for i := 0; i < k; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

func progress(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "gobench: "+format+"\n", a...)
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "gobench: "+format+"\n", a...)
	os.Exit(2)
}
