package exemptions

import (
	"context"
	"errors"
	"time"

	"github.com/nofly-project/nofly/fleet"
)

// The audit log's actions for the drone registry: the entry names the
// drone's serial and carries the record as stored (or the retirement).
const (
	ActionDroneAdd    Action = "drone-add"
	ActionDroneUpdate Action = "drone-update"
	ActionDroneRetire Action = "drone-retire"
)

// Errors of the drone registry.
var (
	ErrDroneNotFound = errors.New("drone not registered")
	ErrDroneExists   = errors.New("drone already registered")
	ErrDroneRetired  = errors.New("drone retired: a retired drone's record is kept as it was")
)

// DroneStore keeps the drone registry in the same database as the
// exemptions: records are never deleted (a drone is retired), and every
// change is an entry in the audit log, by actor at at.
type DroneStore interface {
	// AddDrone registers d (validated by the caller); ErrDroneExists when
	// its serial is registered.
	AddDrone(ctx context.Context, d fleet.Drone, actor string, at time.Time) (fleet.Drone, error)
	// UpdateDrone replaces the record of d.Serial; ErrDroneNotFound,
	// ErrDroneRetired.
	UpdateDrone(ctx context.Context, d fleet.Drone, actor string, at time.Time) (fleet.Drone, error)
	// RetireDrone retires a drone, for reason.
	RetireDrone(ctx context.Context, serial, reason, actor string, at time.Time) (fleet.Drone, error)
	// GetDrone reads one record; ErrDroneNotFound.
	GetDrone(ctx context.Context, serial string) (fleet.Drone, error)
	// ListDrones lists the records, of unit only when it is not empty,
	// sorted by serial.
	ListDrones(ctx context.Context, unit string) ([]fleet.Drone, error)
}

// DroneRetirement is the detail of a drone-retire audit entry.
type DroneRetirement struct {
	Serial string    `json:"serial"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	// Record is the drone's record as retired.
	Record fleet.Drone `json:"record"`
}

// IsDroneError reports whether err is one of the registry's own errors
// (not found, exists, retired).
func IsDroneError(err error) bool {
	return errors.Is(err, ErrDroneNotFound) || errors.Is(err, ErrDroneExists) || errors.Is(err, ErrDroneRetired)
}
