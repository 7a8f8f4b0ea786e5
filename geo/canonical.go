package geo

import (
	"encoding/binary"
	"math"
	"time"
)

// AppendCanonical appends the zone's canonical encoding to b and returns
// the result: every field that says what the zone is, in a fixed order,
// each string and list preceded by its length, so that two zones encode
// alike exactly when their data is the same. Source (where the zone was
// read from) is left out: the same zone read from another file is the same
// zone. Hash it for a content version of a zone set.
//
// The encoding is nofly's own and may change between releases (a version
// computed from it is then new); it is not meant to be decoded.
func (z *Zone) AppendCanonical(b []byte) []byte {
	b = appendString(b, z.ID)
	b = appendString(b, z.Name)
	b = appendString(b, z.Country)
	b = append(b, byte(z.Restriction))
	b = binary.AppendUvarint(b, uint64(len(z.Reasons)))
	for _, r := range z.Reasons {
		b = appendString(b, r)
	}
	b = appendString(b, z.Message)
	b = binary.AppendUvarint(b, uint64(len(z.Authorities)))
	for _, a := range z.Authorities {
		for _, s := range [...]string{a.Name, a.Service, a.Email, a.ContactName, a.SiteURL, a.Phone, a.Purpose, a.IntervalBefore} {
			b = appendString(b, s)
		}
	}
	b = append(b, byte(z.Exemptions))
	b = binary.AppendUvarint(b, uint64(len(z.Volumes)))
	for _, v := range z.Volumes {
		b = v.Shape.appendCanonical(b)
		b = v.Lower.appendCanonical(b)
		b = v.Upper.appendCanonical(b)
	}
	b = binary.AppendUvarint(b, uint64(len(z.Applicability.Periods)))
	for _, p := range z.Applicability.Periods {
		b = appendTime(b, p.Start)
		b = appendTime(b, p.End)
		b = binary.AppendUvarint(b, uint64(len(p.Schedule)))
		for _, d := range p.Schedule {
			b = append(b, byte(d.Days))
			b = binary.AppendVarint(b, int64(d.Start))
			b = binary.AppendVarint(b, int64(d.End))
			b = binary.AppendVarint(b, int64(d.Offset))
			loc := ""
			if d.Loc != nil {
				loc = d.Loc.String()
			}
			b = appendString(b, loc)
			b = appendString(b, d.StartEvent)
			b = appendString(b, d.EndEvent)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(z.Class)))
	for _, c := range z.Class {
		b = appendString(b, c)
	}
	b = append(b, byte(z.Categories))
	return b
}

func (s *Shape) appendCanonical(b []byte) []byte {
	b = append(b, byte(s.Kind))
	b = binary.AppendUvarint(b, uint64(len(s.Polygons)))
	for _, poly := range s.Polygons {
		b = binary.AppendUvarint(b, uint64(len(poly)))
		for _, ring := range poly {
			b = binary.AppendUvarint(b, uint64(len(ring)))
			for _, p := range ring {
				b = appendFloat(appendFloat(b, p[0]), p[1])
			}
		}
	}
	b = appendFloat(appendFloat(b, s.Center[0]), s.Center[1])
	return appendFloat(b, s.Radius)
}

func (l Limit) appendCanonical(b []byte) []byte {
	open := byte(0)
	if l.Open {
		open = 1
	}
	return append(appendFloat(b, l.Metres), byte(l.Ref), open)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendFloat writes f's bits, with -0 as 0 (the same number).
func appendFloat(b []byte, f float64) []byte {
	if f == 0 {
		f = 0
	}
	return binary.BigEndian.AppendUint64(b, math.Float64bits(f))
}

// appendTime writes an instant (its location does not matter); the zero
// time, which means "open" in a Period, apart from every instant.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}
