//go:build bench

package main

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"time"
)

// chart draws a scenario's two runs, naive above and plan below: the
// workload's median and slowest latency per 100 ms (log scale), failed
// queries as red dots, the migration's window shaded, the long transaction
// as a bar, and the plan's steps as labelled lines.
func chart(sc scenario, runs ...result) []byte {
	const (
		width, panelH, left, right, top = 1100.0, 250.0, 70.0, 20.0, 56.0
		gap                             = 60.0
	)
	var end time.Duration
	for _, r := range runs {
		for _, o := range r.Ops {
			end = max(end, o.Start+o.Latency)
		}
	}
	end += time.Second
	plotW := width - left - right
	x := func(d time.Duration) float64 { return left + plotW*d.Seconds()/end.Seconds() }
	// Latency from 0.1 ms to 10 s, logarithmic.
	lo, hi := math.Log10(0.1), math.Log10(10_000)
	var b strings.Builder
	height := top + float64(len(runs))*(panelH+gap)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%.0f" y="22" font-size="15" font-weight="bold">%s (%s): workload latency, naive migration vs fluxlint's plan</text>`+"\n",
		left, html.EscapeString(sc.Name), sc.Code)
	for i, r := range runs {
		y0 := top + float64(i)*(panelH+gap)
		y := func(d time.Duration) float64 {
			v := math.Log10(math.Max(float64(d.Microseconds())/1000, 0.1))
			return y0 + panelH - panelH*(math.Min(v, hi)-lo)/(hi-lo)
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fafbfc" stroke="#ccd"/>`+"\n", left, y0, plotW, panelH)
		// The migration's window and the long transaction.
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fff1d6"/>`+"\n", x(r.From), y0, math.Max(x(r.To)-x(r.From), 1), panelH)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="6" fill="#8a6d3b"/><text x="%.1f" y="%.1f" fill="#8a6d3b">long transaction</text>`+"\n",
			x(r.LongTx[0]), y0+panelH-6, math.Max(x(r.LongTx[1])-x(r.LongTx[0]), 1), x(r.LongTx[0])+2, y0+panelH-10)
		for ms := 0.1; ms <= 10_000; ms *= 10 {
			yy := y(time.Duration(ms * float64(time.Millisecond)))
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#e3e6ea"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n",
				left, left+plotW, yy, yy, left-4, yy+4, label(ms))
		}
		// Per 100 ms of start time: the median and the slowest query, as
		// two lines; failed queries as red dots.
		const bin = 100 * time.Millisecond
		byBin := map[int][]time.Duration{}
		for _, o := range r.Ops {
			if o.Err != "" {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2" fill="#d0312d" fill-opacity="0.7"/>`+"\n", x(o.Start), y(o.Latency))
				continue
			}
			byBin[int(o.Start/bin)] = append(byBin[int(o.Start/bin)], o.Latency)
		}
		var bins []int
		for k := range byBin {
			bins = append(bins, k)
		}
		sort.Ints(bins)
		// A gap (no query succeeded in a bin) breaks the lines.
		var p50, worst []string
		flush := func() {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#d9822b" stroke-width="1.2"/>`+"\n", strings.Join(worst, " "))
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#2b6cb0" stroke-width="1.2"/>`+"\n", strings.Join(p50, " "))
			p50, worst = nil, nil
		}
		for i, k := range bins {
			if i > 0 && k != bins[i-1]+1 {
				flush()
			}
			l := byBin[k]
			sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
			xx := x(time.Duration(k)*bin + bin/2)
			p50 = append(p50, fmt.Sprintf("%.1f,%.1f", xx, y(l[len(l)/2])))
			worst = append(worst, fmt.Sprintf("%.1f,%.1f", xx, y(l[len(l)-1])))
		}
		flush()
		// Labels go on the first row where they do not run into the label
		// before them.
		var rowEnd []float64
		for _, m := range r.Marks {
			xx := x(m.At)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="3,3"/>`+"\n", xx, xx, y0, y0+panelH)
			text := m.Label
			if m.Retries > 0 {
				text += fmt.Sprintf(" (%d retries)", m.Retries)
			}
			row := 0
			for row < len(rowEnd) && rowEnd[row] > xx {
				row++
			}
			if row == len(rowEnd) {
				rowEnd = append(rowEnd, 0)
			}
			tx := min(xx+2, left+plotW-6*float64(len(text)))
			rowEnd[row] = tx + 6*float64(len(text)) + 4
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#333">%s</text>`+"\n", tx, y0+12+float64(row)*12, html.EscapeString(text))
		}
		s := r.Workload
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-weight="bold">%s: p99 %s, max %s, longest write stall %s, %d errors, %d timeouts, migration %s</text>`+"\n",
			left, y0-6, r.Variant, ms(s.P99), ms(s.Max), ms(s.LongestStall), s.Errors, s.Timeouts, ms(r.Wall))
	}
	legendY := top + float64(len(runs))*(panelH+gap) - gap + 32
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f"><tspan fill="#2b6cb0">— median</tspan>  <tspan fill="#d9822b">— slowest</tspan> query per 100 ms  <tspan fill="#d0312d">● failed or timed out</tspan>  <tspan fill="#b08a3e">▆ migration running</tspan></text>`+"\n", left, legendY)
	axisY := top + float64(len(runs))*(panelH+gap) - gap + 16
	for s := 0.0; s <= end.Seconds(); s += 5 {
		xx := x(time.Duration(s * float64(time.Second)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%.0fs</text>`+"\n", xx, axisY, s)
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func label(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.0fs", ms/1000)
	}
	return fmt.Sprintf("%gms", ms)
}
