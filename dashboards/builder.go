package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana-tools/sdk"
)

// Grafana facts every dashboard shares.
const (
	// schemaVersion is the dashboard schema of Grafana 10.x. Writing it
	// explicitly stops Grafana from running its legacy migrations (rows to
	// panels, angular panels, ...) over a model that needs none.
	schemaVersion = 39
	// pluginVersion marks every panel's options as already current for the
	// minimum Grafana version, so the stat/bargauge migration handlers (which
	// assume 6.1 when it is missing) leave them alone.
	pluginVersion = "10.0.0"
	// gridWidth is the width of Grafana's layout grid.
	gridWidth = 24
	// promType is the plugin id of the Prometheus data source.
	promType = "prometheus"
	// dsRef is the data source every panel and query points at: the
	// dashboard's datasource variable, so one JSON fits any Grafana.
	dsRef = "${datasource}"
	// sel selects the series the job and instance variables chose; every
	// query filters with it so the variables mean the same on every panel.
	sel = `job=~"$job",instance=~"$instance"`
)

// Units. Grafana has no "cores" unit: CPU amounts use "short" (plain
// number, k/M scaling) and say "cores" in the axis label and the title.
const (
	unitCores   = "short"
	unitBytes   = "bytes"
	unitSeconds = "s"
	unitRatio   = "percentunit"
	unitCount   = "none"
	// unitPerMin is counts per minute: event rates are shown per minute
	// (60 * rate) because per second they are unreadably small.
	unitPerMin = "cpm"
)

// Panel kinds: the only panel types the dashboards use, all native (not
// angular) in Grafana 10.
const (
	kindTimeseries = "timeseries"
	kindStat       = "stat"
	kindTable      = "table"
	kindBarGauge   = "bargauge"
)

// query is one PromQL target of a panel.
type query struct {
	expr    string
	legend  string
	instant bool // evaluate once at the end of the range (tables, bar gauges, top-k)
}

// step is one threshold step; the first one's value is ignored (-inf).
type step struct {
	color string
	value float64
}

// panel is the description of one panel the builder turns into an sdk.Panel.
type panel struct {
	kind    string
	title   string
	desc    string
	unit    string
	w, h    int
	queries []query

	axisLabel  string   // timeseries: y axis label (the unit Grafana lacks)
	stack      bool     // timeseries: stack the series
	steps      []step   // thresholds; default: a single green step
	min, max   *float64 // field min/max (ratios 0..1)
	textMode   string   // stat: auto, name, value_and_name
	graph      bool     // stat: draw the sparkline
	columns    []string // table: names of the value columns, one per query
	stepLegend bool     // timeseries: draw as steps (0/1 states)
}

// board describes one dashboard. Panels flow left to right on the 24-wide
// grid and wrap when the next one does not fit; no collapsible row panels,
// so every panel is visible without a click.
type board struct {
	uid, title, desc string
	panels           []panel
}

func f64(v float64) *float64 { return &v }

// datasource is the reference Grafana 10 expects for panels and targets.
func datasource() map[string]string {
	return map[string]string{"type": promType, "uid": dsRef}
}

// build turns a board into Grafana dashboard JSON.
func build(b board) ([]byte, error) {
	sb := sdk.NewBoard(b.title)
	// sdk.NewBoard numbers boards with a package-wide counter; an id makes
	// Grafana treat the upload as an update of that numeric id, and the
	// counter makes the output depend on call order. The uid identifies.
	sb.ID = 0
	sb.UID = b.uid
	sb.Editable = true
	sb.Tags = []string{"headroom"}
	sb.Timezone = "browser"
	sb.SchemaVersion = schemaVersion
	sb.GraphTooltip = 1 // shared crosshair: compare series across panels at one instant
	sb.Refresh = &sdk.BoolString{Flag: true, Value: "1m"}
	sb.Time = sdk.Time{From: "now-6h", To: "now"}
	sb.Timepicker = sdk.Timepicker{
		RefreshIntervals: []string{"30s", "1m", "5m", "15m", "30m", "1h"},
		TimeOptions:      []string{"1h", "6h", "12h", "24h", "2d", "7d", "30d"},
	}
	// An empty list, not null: Grafana iterates it to add its built-in
	// annotation query.
	sb.Annotations.List = []sdk.Annotation{}
	asDropdown := true
	sb.Links = []sdk.Link{{
		Title: "headroom", Type: "dashboards", Tags: []string{"headroom"},
		AsDropdown: &asDropdown, IncludeVars: true, KeepTime: boolPtr(true),
	}}
	sb.Templating.List = templateVars()

	x, y, lineH := 0, 0, 0
	for i, p := range b.panels {
		if x+p.w > gridWidth {
			x, y, lineH = 0, y+lineH, 0
		}
		sp, err := sdkPanel(p)
		if err != nil {
			return nil, fmt.Errorf("%s: panel %q: %w", b.uid, p.title, err)
		}
		sp.ID = uint(i + 1)
		sp.GridPos.X, sp.GridPos.Y, sp.GridPos.W, sp.GridPos.H = intPtr(x), intPtr(y), intPtr(p.w), intPtr(p.h)
		sb.Panels = append(sb.Panels, sp)
		x += p.w
		lineH = max(lineH, p.h)
	}

	raw, err := json.Marshal(sb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.uid, err)
	}
	return grafana10(raw, b)
}

func intPtr(v int) *int    { return &v }
func boolPtr(v bool) *bool { return &v }

// templateVars are the variables every dashboard has: the Prometheus data
// source, then job and instance, filtered by the job chosen. headroom_build_info
// is exported by every component, so the lists cover monitors, agents and
// masters alike.
func templateVars() []sdk.TemplateVar {
	all := sdk.Current{
		Text:  &sdk.StringSliceString{Value: []string{"All"}, Valid: true},
		Value: []string{"$__all"},
	}
	one, two := int64(1), int64(2)
	labelVar := func(name, label, q string) sdk.TemplateVar {
		return sdk.TemplateVar{
			Name: name, Label: label, Type: "query",
			Datasource: datasource(),
			Query:      q,
			// 2: refresh on time range change, so hosts that appear are listed.
			Refresh:    sdk.BoolInt{Value: &two},
			Multi:      true,
			IncludeAll: true,
			// With .* "All" keeps working for hosts the list has not seen yet.
			AllValue: ".*",
			Sort:     1,
			Current:  all,
			Options:  []sdk.Option{},
		}
	}
	return []sdk.TemplateVar{
		{
			Name: "datasource", Label: "Data source", Type: "datasource",
			Query:   promType,
			Refresh: sdk.BoolInt{Value: &one},
			Current: sdk.Current{
				Text:  &sdk.StringSliceString{Value: []string{"default"}, Valid: true},
				Value: "default",
			},
			Options: []sdk.Option{},
		},
		labelVar("job", "Job", "label_values(headroom_build_info, job)"),
		labelVar("instance", "Instance", `label_values(headroom_build_info{job=~"$job"}, instance)`),
	}
}

// fieldConfig is the field configuration of a panel, built with the sdk's
// types. The sdk only has a slot for it on timeseries and bar gauge panels;
// grafana10 adds it to the others.
func fieldConfig(p panel) sdk.FieldConfig {
	steps := p.steps
	if len(steps) == 0 {
		steps = []step{{color: "green"}}
	}
	var th []sdk.ThresholdStep
	for i, s := range steps {
		ts := sdk.ThresholdStep{Color: s.color}
		if i > 0 {
			ts.Value = f64(s.value)
		}
		th = append(th, ts)
	}
	color := sdk.FieldConfigColor{Mode: "palette-classic"}
	if p.kind != kindTimeseries {
		color = sdk.FieldConfigColor{Mode: "thresholds"}
	}
	fc := sdk.FieldConfig{Defaults: sdk.FieldConfigDefaults{
		Unit:       p.unit,
		Min:        p.min,
		Max:        p.max,
		Color:      color,
		Thresholds: sdk.Thresholds{Mode: "absolute", Steps: th},
	}}
	// The sdk writes every custom field without omitempty; zero values
	// would override Grafana's defaults (lineWidth 0 draws nothing), so set
	// them all.
	c := &fc.Defaults.Custom
	c.AxisLabel = p.axisLabel
	c.AxisPlacement = "auto"
	c.DrawStyle = "line"
	c.FillOpacity = 10
	c.GradientMode = "none"
	c.LineInterpolation = "linear"
	if p.stepLegend {
		c.LineInterpolation = "stepAfter"
	}
	c.LineWidth = 1
	c.PointSize = 5
	c.ShowPoints = "never"
	c.LineStyle.Fill = "solid"
	c.ScaleDistribution.Type = "linear"
	c.Stacking.Group = "A"
	c.Stacking.Mode = "none"
	if p.stack {
		c.Stacking.Mode = "normal"
		c.FillOpacity = 40
	}
	c.ThresholdsStyle.Mode = "off"
	return fc
}

// reduceLast makes stat and bar gauge panels show the last value of each series.
func reduceLast(o *sdk.Options) {
	o.ReduceOptions.Calcs = []string{"lastNotNull"}
	o.ReduceOptions.Values = false
	o.ReduceOptions.Fields = ""
}

// sdkPanel builds the sdk panel for p.
func sdkPanel(p panel) (*sdk.Panel, error) {
	if p.desc == "" || p.unit == "" || len(p.queries) == 0 {
		return nil, fmt.Errorf("needs a description, a unit and a query")
	}
	var sp *sdk.Panel
	switch p.kind {
	case kindTimeseries:
		sp = sdk.NewTimeseries(p.title)
		sp.TimeseriesPanel.FieldConfig = fieldConfig(p)
		sp.TimeseriesPanel.Options = sdk.TimeseriesOptions{
			Legend:  sdk.TimeseriesLegendOptions{Calcs: []string{}, DisplayMode: "list", Placement: "bottom"},
			Tooltip: sdk.TimeseriesTooltipOptions{Mode: "multi"},
		}
	case kindStat:
		sp = sdk.NewStat(p.title)
		o := &sp.StatPanel.Options
		reduceLast(o)
		o.Orientation = "auto"
		o.TextMode = p.textMode
		if o.TextMode == "" {
			o.TextMode = "auto"
		}
		o.ColorMode = "value"
		o.GraphMode = "none"
		if p.graph {
			o.GraphMode = "area"
		}
		o.JustifyMode = "auto"
	case kindTable:
		sp = sdk.NewTable(p.title)
	case kindBarGauge:
		// The sdk has the bar gauge type but no constructor.
		sp = &sdk.Panel{
			CommonPanel:   sdk.CommonPanel{OfType: sdk.BarGaugeType, Title: p.title, Type: kindBarGauge},
			BarGaugePanel: &sdk.BarGaugePanel{FieldConfig: fieldConfig(p)},
		}
		o := &sp.BarGaugePanel.Options
		reduceLast(o)
		o.Orientation = "horizontal"
		o.DisplayMode = "gradient"
	default:
		return nil, fmt.Errorf("panel type %q is not one Grafana 10 reads natively", p.kind)
	}
	sp.Description = &p.desc
	sp.Datasource = datasource()
	sp.Editable = true
	for i, q := range p.queries {
		t := sdk.Target{
			RefID:        string(rune('A' + i)),
			Datasource:   datasource(),
			Expr:         q.expr,
			LegendFormat: q.legend,
			Instant:      q.instant,
		}
		if p.kind == kindTable {
			t.Format = "table"
		}
		// Panel.AddTarget ignores bar gauges; append to that slice directly.
		if p.kind == kindBarGauge {
			sp.BarGaugePanel.Targets = append(sp.BarGaugePanel.Targets, t)
		} else {
			sp.AddTarget(&t)
		}
	}
	return sp, nil
}

// Keys the sdk writes that Grafana 10 does not read: pre-5.0 board layout
// and angular panel settings. Left in, they are noise at best and, for
// tables, make Grafana take the panel for the angular table.
var (
	legacyBoardKeys = []string{"rows", "originalTitle", "hideControls", "sharedCrosshair", "style", "slug"}
	legacyPanelKeys = map[string][]string{
		"": {"renderer", "span", "isNew", "error"},
		kindStat: {"colors", "colorValue", "colorBackground", "decimals", "format", "gauge",
			"nullPointMode", "sparkline", "thresholds", "valueFontSize", "valueMaps", "valueName"},
		kindTable: {"columns", "styles", "transform", "scroll"},
	}
)

// grafana10 is the one post-processing step over the sdk's JSON. The sdk
// (last released 2022) predates parts of the Grafana 10 model; rather than
// leave the library, this fills the gaps on the marshalled JSON:
//
//   - drops the legacy keys above;
//   - gives stat and table panels the fieldConfig the sdk has no slot for
//     (built with the sdk's own FieldConfig type), and every panel
//     fieldConfig.overrides; removes the timeseries-only custom block
//     from other panel types;
//   - drops empty strings from options: the sdk shares one Options struct
//     between stat, bar gauge and text panels and writes every field;
//   - sets pluginVersion, and the table's options and transformations.
//
// Maps marshal with sorted keys, so the output is deterministic.
func grafana10(raw []byte, b board) ([]byte, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers exactly as the sdk wrote them
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	for _, k := range legacyBoardKeys {
		delete(m, k)
	}
	m["description"] = b.desc
	panels, _ := m["panels"].([]any)
	if len(panels) != len(b.panels) {
		return nil, fmt.Errorf("%s: %d panels marshalled, %d described", b.uid, len(panels), len(b.panels))
	}
	for i, raw := range panels {
		pm := raw.(map[string]any)
		p := b.panels[i]
		for _, k := range append(legacyPanelKeys[""], legacyPanelKeys[p.kind]...) {
			delete(pm, k)
		}
		pm["pluginVersion"] = pluginVersion

		fc, ok := pm["fieldConfig"].(map[string]any)
		if !ok {
			enc, err := toMap(fieldConfig(p))
			if err != nil {
				return nil, err
			}
			fc = enc
		}
		defaults := fc["defaults"].(map[string]any)
		defaults["unit"] = p.unit
		if p.kind != kindTimeseries {
			delete(defaults, "custom")
		}
		fc["overrides"] = []any{}
		pm["fieldConfig"] = fc

		if opts, ok := pm["options"].(map[string]any); ok {
			for k, v := range opts {
				if v == "" {
					delete(opts, k)
				}
			}
		}
		if p.kind == kindTable {
			tableOptions(pm, p)
		}
	}
	return json.MarshalIndent(m, "", "  ")
}

// tableOptions joins the table's instant queries into one row per series
// (merge), hides the timestamp and names the value columns.
func tableOptions(pm map[string]any, p panel) {
	rename := map[string]any{}
	for i, c := range p.columns {
		if len(p.queries) == 1 {
			rename["Value"] = c
		} else {
			rename[fmt.Sprintf("Value #%c", 'A'+i)] = c
		}
	}
	opts := map[string]any{"showHeader": true}
	if len(p.columns) > 0 {
		opts["sortBy"] = []any{map[string]any{"displayName": p.columns[0], "desc": true}}
	}
	pm["options"] = opts
	pm["transformations"] = []any{
		map[string]any{"id": "merge", "options": map[string]any{}},
		map[string]any{"id": "organize", "options": map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"renameByName":  rename,
		}},
	}
}

// toMap round-trips v through JSON into a generic map.
func toMap(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return m, dec.Decode(&m)
}
