package sim

import (
	"errors"
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// plotPoints bounds the points per series: a week at 10 s would otherwise
// make an SVG of tens of megabytes that no browser draws smoothly.
const plotPoints = 2000

// Plot writes an SVG of two panels sharing the time axis: the business
// load, the truly idle CPU and each result's harvest on top; each result's
// interference (harvest beyond the idle CPU) below. Results are reports of
// tr (their CPU series); the oracle is drawn as the idle line, so pass it
// or not.
func Plot(w io.Writer, tr Trace, results ...Report) error {
	canvas := vgsvg.New(28*vg.Centimeter, 20*vg.Centimeter)
	if err := drawPlot(canvas, tr, results); err != nil {
		return err
	}
	if _, err := canvas.WriteTo(w); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// PlotPNG is Plot as a PNG image, for documents that embed a picture.
func PlotPNG(w io.Writer, tr Trace, results ...Report) error {
	canvas := vgimg.NewWith(vgimg.UseWH(28*vg.Centimeter, 20*vg.Centimeter), vgimg.UseDPI(96))
	if err := drawPlot(canvas, tr, results); err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: canvas}).WriteTo(w); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// drawPlot draws Plot's panels on any canvas (SVG for the command, an
// image when checking the layout by eye).
func drawPlot(canvas vg.CanvasSizer, tr Trace, results []Report) error {
	if err := tr.Validate(); err != nil {
		return err
	}
	n := len(tr.Points)
	for _, r := range results {
		if len(r.CPU) != n {
			return fmt.Errorf("plot: result %s has %d steps, the trace %d", r.Name, len(r.CPU), n)
		}
	}
	// Every stride-th step; interference keeps the bucket's maximum, so a
	// one-step spike is not thinned away.
	stride := max(1, (n+plotPoints-1)/plotPoints)
	hours := func(i int) float64 { return tr.Points[i].Time.Sub(tr.Points[0].Time).Hours() }
	series := func(v func(i int) float64, keepMax bool) plotter.XYs {
		xy := make(plotter.XYs, 0, n/stride+1)
		for i := 0; i < n; i += stride {
			y := v(i)
			for j := i + 1; keepMax && j < min(n, i+stride); j++ {
				y = max(y, v(j))
			}
			xy = append(xy, plotter.XY{X: hours(i), Y: y})
		}
		return xy
	}

	top := plot.New()
	top.Title.Text = fmt.Sprintf("CPU on a %g-core host", tr.Host.Cores)
	top.Y.Label.Text = "cores"
	top.Legend.Top = true
	bottom := plot.New()
	bottom.Title.Text = "interference: harvest beyond the idle CPU"
	bottom.X.Label.Text = "hours"
	bottom.Y.Label.Text = "cores"
	bottom.Legend.Top = true

	add := func(p *plot.Plot, name string, xy plotter.XYs, c color.Color, dashes []vg.Length) error {
		l, err := plotter.NewLine(xy)
		if err != nil {
			return fmt.Errorf("plot %s: %w", name, err)
		}
		l.Color, l.Dashes, l.Width = c, dashes, vg.Points(1)
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	// The idle line and interference need the oracle: they are drawn only
	// when an oracle result is passed.
	var errs []error
	errs = append(errs, add(top, "business", series(func(i int) float64 { return tr.Points[i].BusinessCPU }, false), color.Gray{Y: 96}, nil))
	k := 0
	for _, r := range results {
		cpu := r.CPU
		if r.Name == "oracle" {
			errs = append(errs, add(top, "idle (oracle)", series(func(i int) float64 { return cpu[i] }, false), color.Black, []vg.Length{vg.Points(2), vg.Points(2)}))
			continue
		}
		c := plotutil.Color(k)
		k++
		errs = append(errs, add(top, r.Name, series(func(i int) float64 { return cpu[i] }, false), c, nil))
		if oracle := findOracle(results); oracle != nil {
			idle := oracle.CPU
			errs = append(errs, add(bottom, r.Name, series(func(i int) float64 { return max(0, cpu[i]-idle[i]) }, true), c, nil))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	bottom.X.Min, bottom.X.Max = top.X.Min, top.X.Max
	// Headroom above the data for the legend, which would hide lines.
	top.Y.Max *= 1.35
	bottom.Y.Max = max(1, bottom.Y.Max*1.35)

	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2, PadY: vg.Millimeter * 4}
	plots := [][]*plot.Plot{{top}, {bottom}}
	cells := plot.Align(plots, tiles, draw.New(canvas))
	top.Draw(cells[0][0])
	bottom.Draw(cells[1][0])
	return nil
}

func findOracle(results []Report) *Report {
	for i := range results {
		if results[i].Name == "oracle" {
			return &results[i]
		}
	}
	return nil
}
