package interuss

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The wire types of the geospatial map interface (geospatial_map.yaml and
// the ASTM F3548-21 types it uses), with the snake_case names the harness
// sends. Optional members are pointers, so that an absent member is told
// apart from a zero one.

type queryRequest struct {
	Checks *[]check `json:"checks"`
}

type check struct {
	FilterSets *[]filterSet `json:"filter_sets"`
}

type filterSet struct {
	Position                   *position     `json:"position"`
	Volumes4D                  []volume4D    `json:"volumes4d"`
	After                      *string       `json:"after"`
	Before                     *string       `json:"before"`
	RestrictionSource          *string       `json:"restriction_source"`
	OperationRuleSet           *string       `json:"operation_rule_set"`
	ResultingOperationalImpact *string       `json:"resulting_operational_impact"`
	ED269                      *ed269Filters `json:"ed269"`
}

type ed269Filters struct {
	USpaceClass            *string  `json:"u_space_class"`
	AcceptableRestrictions []string `json:"acceptable_restrictions"`
}

type position struct {
	Altitude *altitude `json:"altitude"`
	Location *latLng   `json:"location"`
}

type latLng struct {
	Lat *float64 `json:"lat"`
	Lng *float64 `json:"lng"`
}

// altitude is a height: Value in Units (M or FT) above Reference (W84: the
// WGS84 ellipsoid; SFC: the surface).
type altitude struct {
	Value     *float64 `json:"value"`
	Reference string   `json:"reference"`
	Units     string   `json:"units"`
}

type volume4D struct {
	Volume    *volume3D `json:"volume"`
	TimeStart *wireTime `json:"time_start"`
	TimeEnd   *wireTime `json:"time_end"`
}

type volume3D struct {
	OutlineCircle  *circle   `json:"outline_circle"`
	OutlinePolygon *polygon  `json:"outline_polygon"`
	AltitudeLower  *altitude `json:"altitude_lower"`
	AltitudeUpper  *altitude `json:"altitude_upper"`
}

type circle struct {
	Center *latLng  `json:"center"`
	Radius *radiusM `json:"radius"`
}

type radiusM struct {
	Value *float64 `json:"value"`
	Units string   `json:"units"`
}

type polygon struct {
	Vertices []latLng `json:"vertices"`
}

type wireTime struct {
	Value  string `json:"value"`
	Format string `json:"format"`
}

type queryReply struct {
	Results []checkResult `json:"results"`
}

// Outcomes of a check.
const (
	Present           = "Present"
	Absent            = "Absent"
	UnsupportedFilter = "UnsupportedFilter"
	OutcomeError      = "Error"
)

type checkResult struct {
	Outcome string `json:"features_selection_outcome"`
	Message string `json:"message,omitempty"`
}

type statusResponse struct {
	Status     string `json:"status"`
	APIName    string `json:"api_name"`
	APIVersion string `json:"api_version"`
}

type createSourceRequest struct {
	HTTPSSource *httpsSource `json:"https_source"`
}

type httpsSource struct {
	URL    *string `json:"url"`
	Format *string `json:"format"`
}

// Statuses of a data source.
const (
	SourceReady       = "Ready"
	SourceDeactivated = "Deactivated"
	SourceUnsupported = "Unsupported"
	SourceRejected    = "Rejected"
)

type sourceStatus struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

type sourceResponse struct {
	DataSource sourceStatus `json:"data_source"`
}

type listSourcesResponse struct {
	DataSources []sourceStatus `json:"data_sources"`
}

// MaxBody bounds a request body, in bytes.
const MaxBody = 4 << 20

// RequestError is a request that does not decode or does not follow the
// interface: it names the field (a path such as
// "checks[0].filter_sets[1].volumes4d[0].volume.outline_circle.radius") and
// is answered 400.
type RequestError struct {
	Field string
	Msg   string
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// decodeStrict decodes one JSON value from body into v, refusing unknown
// members, trailing data and wrong types with a *RequestError that names
// the member.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &RequestError{Msg: "empty request body: want a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &RequestError{Msg: "data after the JSON object"}
	}
	return nil
}

// jsonError turns a decoding error into a *RequestError naming the member.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		return &RequestError{Field: field, Msg: fmt.Sprintf("want %s, got JSON %s", jsonKind(te.Type.String()), te.Value)}
	case errors.As(err, &se):
		return &RequestError{Msg: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &RequestError{Msg: "malformed JSON: unexpected end of body"}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return &RequestError{Field: strings.Trim(name, `"`), Msg: "unknown member (the interface names members in snake_case)"}
	}
	return &RequestError{Msg: msg}
}

func jsonKind(goType string) string {
	t := strings.TrimLeft(goType, "*")
	switch {
	case t == "string":
		return "a string"
	case t == "float64":
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	}
	return "an object"
}
