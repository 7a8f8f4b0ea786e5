package storecore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/fleet"
)

// DroneChange is one registry change, decided before any write: the
// record to store and the audit entry that says so. old is the stored
// record (nil for an add).
func DroneChange(action exemptions.Action, old *fleet.Drone, d fleet.Drone, actor string, at time.Time) (fleet.Drone, exemptions.AuditEvent, any, error) {
	at = at.UTC()
	switch {
	case action == exemptions.ActionDroneAdd && old != nil:
		return d, exemptions.AuditEvent{}, nil, fmt.Errorf("%s: %w", d.Serial, exemptions.ErrDroneExists)
	case action != exemptions.ActionDroneAdd && old == nil:
		return d, exemptions.AuditEvent{}, nil, fmt.Errorf("%s: %w", d.Serial, exemptions.ErrDroneNotFound)
	case old != nil && old.Status == fleet.StatusRetired:
		return d, exemptions.AuditEvent{}, nil, fmt.Errorf("%s: %w", d.Serial, exemptions.ErrDroneRetired)
	}
	d.Created = at
	if old != nil {
		d.Created = old.Created
	}
	d.Updated, d.UpdatedBy = at, actor
	e := exemptions.AuditEvent{At: at, Action: action, Actor: actor, ExemptionIDs: []string{d.Serial}}
	return d, e, d, nil
}

// Retire is the record of old once retired, and the retirement.
func Retire(old fleet.Drone, reason, actor string, at time.Time) (fleet.Drone, exemptions.DroneRetirement) {
	old.Status, old.Updated, old.UpdatedBy = fleet.StatusRetired, at.UTC(), actor
	return old, exemptions.DroneRetirement{Serial: old.Serial, Reason: reason, By: actor, At: at.UTC(), Record: old}
}

// DroneJSON is a record as its row keeps it.
func DroneJSON(d fleet.Drone) (string, error) {
	b, err := json.Marshal(d)
	return string(b), err
}

// ScanDrone reads a row's record.
func ScanDrone(record string) (fleet.Drone, error) {
	var d fleet.Drone
	err := json.Unmarshal([]byte(record), &d)
	return d, err
}
