package monitor

import "github.com/headroom-dev/headroom/monitor/estimate"

// The deciding core lives in monitor/estimate; these names keep the
// sampling loop and its callers compiling while they move to it.

type (
	Bytes             = estimate.Bytes
	Change            = estimate.Change
	Estimate          = estimate.Estimate
	Estimator         = estimate.Estimator
	FieldError        = estimate.FieldError
	GrowPolicy        = estimate.GrowPolicy
	PSI               = estimate.PSI
	Policy            = estimate.Policy
	Predictor         = estimate.Predictor
	PredictorPolicy   = estimate.PredictorPolicy
	Pressure          = estimate.Pressure
	PressurePolicy    = estimate.PressurePolicy
	Reason            = estimate.Reason
	ResourceAmount    = estimate.ResourceAmount
	Sample            = estimate.Sample
	Sampler           = estimate.Sampler
	SamplingPolicy    = estimate.SamplingPolicy
	ServiceUsage      = estimate.ServiceUsage
	Steering          = estimate.Steering
	UtilizationPolicy = estimate.UtilizationPolicy
)

const (
	ReasonDegraded  = estimate.ReasonDegraded
	ReasonPressure  = estimate.ReasonPressure
	ReasonGrowth    = estimate.ReasonGrowth
	ReasonPredictor = estimate.ReasonPredictor
	ReasonReserve   = estimate.ReasonReserve
	ReasonCeiling   = estimate.ReasonCeiling
)

// Reasons lists every reason, for exporting a stable label set.
var Reasons = estimate.Reasons

func Changes(prev, next Estimate) []Change      { return estimate.Changes(prev, next) }
func NewEstimator(p Policy) (*Estimator, error) { return estimate.NewEstimator(p) }
func DefaultPolicy() Policy                     { return estimate.DefaultPolicy() }
func LoadPolicy(path string) (Policy, error)    { return estimate.LoadPolicy(path) }
func ParsePolicy(data []byte) (Policy, error)   { return estimate.ParsePolicy(data) }
func ScaledReserve(cores float64, mem uint64) ResourceAmount {
	return estimate.ScaledReserve(cores, mem)
}
