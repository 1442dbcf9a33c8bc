package wire_test

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
)

// worstCases are elements that fill one limit each, cut short of their
// end so that the reader holds them: the largest text, the most tokens
// (empty siblings), the most attributes, the deepest nesting. n is the
// budget they fill.
func worstCases(lim wire.Limits) map[string]string {
	b, tok := int(lim.Bytes), lim.Tokens
	return map[string]string{
		"text":       "<message><body>" + strings.Repeat("x", b-40),
		"siblings":   "<message>" + strings.Repeat("<a/>", min((tok-2)/2, (b-20)/4)),
		"attributes": "<message><x" + attrs(min(tok-4, (b-20)/10)) + ">",
		"deep":       "<message>" + strings.Repeat("<a>", min(lim.Depth-1, (b-20)/3)),
		// Both budgets at once: every token, and every byte in text.
		"mixed": "<message>" + strings.Repeat("<a>"+strings.Repeat("x", max((b-20)/((tok-2)/3)-7, 1))+"</a>", (tok-2)/3),
	}
}

// heldPerReader returns the heap that each of n readers retains while it
// holds element, half-received, on a pipe.
func heldPerReader(b *testing.B, lim wire.Limits, element string, n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	blocked := make(chan struct{}, n)
	var readers sync.WaitGroup
	writers := make([]*io.PipeWriter, n)
	for i := range n {
		pr, pw := io.Pipe()
		writers[i] = pw
		r := wire.NewReader(pr, lim)
		go func() {
			_, _ = io.WriteString(pw, shortHeader+element)
			blocked <- struct{}{} // the reader took it all and waits for more
		}()
		readers.Go(func() {
			if _, err := r.Header(); err == nil {
				_, err = r.Next()
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					b.Errorf("the reader did not hold the element: %v", err)
				}
			}
		})
	}
	for range n {
		<-blocked
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	for _, pw := range writers {
		_ = pw.Close()
	}
	readers.Wait()
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// BenchmarkHeldElement measures the worst-case memory a connection's
// reader holds for a half-received element, for the limits before and
// after authentication (docs/security.md). The baseline is the element's
// own bytes: the ratio is what the tokens cost on top of the bytes.
func BenchmarkHeldElement(b *testing.B) {
	for _, l := range []struct {
		name string
		lim  wire.Limits
	}{
		{"unauth", wire.Limits{Bytes: 8192, Depth: 4, Tokens: 32}},
		{"auth", wire.Limits{Bytes: wire.DefaultBytes, Depth: wire.DefaultDepth, Tokens: wire.DefaultTokens}},
	} {
		for shape, el := range worstCases(l.lim) {
			b.Run(fmt.Sprintf("%s/%s", l.name, shape), func(b *testing.B) {
				var held float64
				for b.Loop() {
					held = heldPerReader(b, l.lim, el, 50)
				}
				b.ReportMetric(held, "heldB/conn")
				b.ReportMetric(float64(len(el)), "elementB")
				b.ReportMetric(held/float64(len(el)), "held/element")
			})
		}
	}
}
