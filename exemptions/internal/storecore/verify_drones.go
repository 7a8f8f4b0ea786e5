package storecore

import (
	"encoding/json"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/fleet"
)

// VerifyDronesQuery reads the drone registry's rows for Drones.
const VerifyDronesQuery = "SELECT serial, record FROM drones ORDER BY serial"

// droneLog is what the audit log says of the registry: each serial's
// record as its last entry left it (canonical JSON), and the rows seen.
type droneLog struct {
	last map[string]string
	seen map[string]bool
}

// canonicalDrone is a record's JSON as the Go type writes it, whatever
// spacing or order it was stored with; "" when it is no record.
func canonicalDrone(b []byte) string {
	var d fleet.Drone
	if json.Unmarshal(b, &d) != nil {
		return ""
	}
	out, err := json.Marshal(d)
	if err != nil {
		return ""
	}
	return string(out)
}

// droneEntry notes the record a registry entry leaves.
func (w *Verifier) droneEntry(seq int64, e *exemptions.AuditEvent) {
	if w.drones.last == nil {
		w.drones.last, w.drones.seen = map[string]string{}, map[string]bool{}
	}
	if len(e.ExemptionIDs) != 1 {
		w.Problem("audit entry %d: a drone entry names %d serials, not one", seq, len(e.ExemptionIDs))
		return
	}
	rec := []byte(e.Detail)
	if e.Action == exemptions.ActionDroneRetire {
		var r exemptions.DroneRetirement
		if json.Unmarshal(e.Detail, &r) != nil {
			w.Problem("audit entry %d: the retirement is not valid JSON", seq)
			return
		}
		rec, _ = json.Marshal(r.Record)
	}
	w.drones.last[e.ExemptionIDs[0]] = canonicalDrone(rec)
}

// Drones checks every row of VerifyDronesQuery against the record the
// audit log last left for its serial.
func (w *Verifier) Drones(rows RowScanner) error {
	for rows.Next() {
		var serial, record string
		if err := rows.Scan(&serial, &record); err != nil {
			return err
		}
		if w.drones.seen == nil {
			w.drones.last, w.drones.seen = map[string]string{}, map[string]bool{}
		}
		w.drones.seen[serial] = true
		want, ok := w.drones.last[serial]
		switch {
		case !ok:
			w.Problem("drone %s: in the registry but never in the audit log", serial)
		case canonicalDrone([]byte(record)) != want:
			w.Problem("drone %s: the registry's record differs from the audit log's last entry for it", serial)
		}
	}
	return rows.Err()
}

// finishDrones reports drones the log registered that the registry lacks.
func (w *Verifier) finishDrones() {
	for serial := range w.drones.last {
		if !w.drones.seen[serial] {
			w.Problem("drone %s: registered in the audit log but missing from the registry", serial)
		}
	}
}
