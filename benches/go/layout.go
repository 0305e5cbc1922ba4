package main

// Go's own P layout: the Go side of runq/layout (benches/runq_padding.c). Claims L2.1.runq
// (256-entry ring), L2.1.headtail (the document: runqhead and runqtail sit in different
// cache lines) and L2.1.fourlines (the document: the ring fits 4 cache lines).
//
// The offsets are read from the DWARF of this very binary (struct runtime.p), so they are
// the layout of the Go that built it, not a figure typed in. Counters of go/runq/layout:
// off_runqhead, off_runqtail, off_runq, off_runnext, p_bytes, runq_entries, runq_bytes,
// runq_lines (64-byte lines the ring touches at its offset, P taken as line-aligned),
// headtail_same_line (1 when off_runqhead/64 == off_runqtail/64; when the two uint32s share
// one 8-byte-aligned word, as in Go 1.19, that holds wherever the P is allocated).
// scripts/goparse.py checks the same field order from runtime2.go source.

import (
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"os"
	"sync"
	"time"
)

const cacheLine = 64

type pLayout struct {
	offHead, offTail, offRunq, offNext, pBytes, runqEntries, runqBytes int64
}

var (
	layoutOnce sync.Once
	layoutVal  pLayout
	layoutErr  error
)

func readPLayout() (pLayout, error) {
	layoutOnce.Do(func() { layoutVal, layoutErr = readPLayoutFrom("") })
	return layoutVal, layoutErr
}

// readPLayoutFrom reads runtime.p from the DWARF of the ELF file path ("" = this binary).
func readPLayoutFrom(path string) (pLayout, error) {
	var l pLayout
	if path == "" {
		var err error
		if path, err = os.Executable(); err != nil {
			return l, err
		}
	}
	f, err := elf.Open(path)
	if err != nil {
		return l, err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return l, fmt.Errorf("no DWARF in %s (built with -ldflags=-w?): %v", path, err)
	}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return l, err
		}
		if e == nil {
			return l, fmt.Errorf("struct runtime.p not found in the DWARF of %s", path)
		}
		if e.Tag != dwarf.TagStructType || e.Val(dwarf.AttrName) != "runtime.p" {
			continue
		}
		t, err := d.Type(e.Offset)
		if err != nil {
			return l, err
		}
		st, ok := t.(*dwarf.StructType)
		if !ok {
			return l, fmt.Errorf("runtime.p is a %T", t)
		}
		l.pBytes = st.ByteSize
		found := 0
		for _, fl := range st.Field {
			switch fl.Name {
			case "runqhead":
				l.offHead, found = fl.ByteOffset, found|1
			case "runqtail":
				l.offTail, found = fl.ByteOffset, found|2
			case "runq":
				l.offRunq, found = fl.ByteOffset, found|4
				l.runqBytes = fl.Type.Size()
				if at, ok := fl.Type.(*dwarf.ArrayType); ok {
					l.runqEntries = at.Count
				}
			case "runnext":
				l.offNext, found = fl.ByteOffset, found|8
			}
		}
		if found != 15 {
			return l, fmt.Errorf("runtime.p lacks one of runqhead/runqtail/runq/runnext (mask %d)", found)
		}
		return l, nil
	}
}

func (l pLayout) counters() map[string]float64 {
	same := 0.0
	if l.offHead/cacheLine == l.offTail/cacheLine {
		same = 1
	}
	first, last := l.offRunq/cacheLine, (l.offRunq+l.runqBytes-1)/cacheLine
	return map[string]float64{
		"off_runqhead": float64(l.offHead), "off_runqtail": float64(l.offTail),
		"off_runq": float64(l.offRunq), "off_runnext": float64(l.offNext),
		"p_bytes": float64(l.pBytes), "runq_entries": float64(l.runqEntries),
		"runq_bytes": float64(l.runqBytes), "runq_lines": float64(last - first + 1),
		"headtail_same_line": same,
	}
}

func layoutSkip() string {
	if _, err := readPLayout(); err != nil {
		return "n/a: " + err.Error()
	}
	return ""
}

func runLayout(n int64) result {
	t0 := time.Now()
	l, err := readPLayout()
	if err != nil {
		fail("layout: %v", err)
	}
	return result{iters: 1, elapsed: time.Since(t0), counters: l.counters()}
}
