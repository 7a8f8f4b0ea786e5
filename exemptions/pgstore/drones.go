package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
	"github.com/nofly-project/nofly/fleet"
)

var _ exemptions.DroneStore = (*Store)(nil)

func pgGetDrone(ctx context.Context, q pgQuerier, serial string) (*fleet.Drone, error) {
	var rec string
	err := q.QueryRow(ctx, "SELECT record FROM drones WHERE serial = $1", serial).Scan(&rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d, err := storecore.ScanDrone(rec)
	return &d, err
}

// droneWrite stores the change a storecore function decides from the
// stored record, with its audit entry, holding the chain head.
func (s *Store) droneWrite(caller context.Context, op, serial string, change func(old *fleet.Drone) (fleet.Drone, exemptions.AuditEvent, any, error)) (fleet.Drone, error) {
	var out fleet.Drone
	err := s.write(caller, op, func(ctx context.Context, tx pgx.Tx, h *head) error {
		old, err := pgGetDrone(ctx, tx, serial)
		if err != nil {
			return err
		}
		d, e, detail, err := change(old)
		if err != nil {
			return err
		}
		rec, err := storecore.DroneJSON(d)
		if err != nil {
			return err
		}
		if old == nil {
			h.queue("INSERT INTO drones (serial, unit, record) VALUES ($1, $2, $3)", d.Serial, d.Unit, rec)
		} else {
			h.queue("UPDATE drones SET unit = $1, record = $2 WHERE serial = $3", d.Unit, rec, d.Serial)
		}
		if _, err := h.appendAudit(e, detail); err != nil {
			return err
		}
		out = d
		return nil
	})
	return out, err
}

// AddDrone implements exemptions.DroneStore.
func (s *Store) AddDrone(ctx context.Context, d fleet.Drone, actor string, at time.Time) (fleet.Drone, error) {
	return s.droneWrite(ctx, "add drone", d.Serial, func(old *fleet.Drone) (fleet.Drone, exemptions.AuditEvent, any, error) {
		return storecore.DroneChange(exemptions.ActionDroneAdd, old, d, actor, at)
	})
}

// UpdateDrone implements exemptions.DroneStore.
func (s *Store) UpdateDrone(ctx context.Context, d fleet.Drone, actor string, at time.Time) (fleet.Drone, error) {
	return s.droneWrite(ctx, "update drone", d.Serial, func(old *fleet.Drone) (fleet.Drone, exemptions.AuditEvent, any, error) {
		return storecore.DroneChange(exemptions.ActionDroneUpdate, old, d, actor, at)
	})
}

// RetireDrone implements exemptions.DroneStore.
func (s *Store) RetireDrone(ctx context.Context, serial, reason, actor string, at time.Time) (fleet.Drone, error) {
	return s.droneWrite(ctx, "retire drone", serial, func(old *fleet.Drone) (fleet.Drone, exemptions.AuditEvent, any, error) {
		if old == nil {
			return fleet.Drone{}, exemptions.AuditEvent{}, nil, fmt.Errorf("%s: %w", serial, exemptions.ErrDroneNotFound)
		}
		if old.Status == fleet.StatusRetired {
			return fleet.Drone{}, exemptions.AuditEvent{}, nil, fmt.Errorf("%s: %w", serial, exemptions.ErrDroneRetired)
		}
		d, ret := storecore.Retire(*old, reason, actor, at)
		return d, exemptions.AuditEvent{At: ret.At, Action: exemptions.ActionDroneRetire, Actor: actor, ExemptionIDs: []string{serial}}, ret, nil
	})
}

// GetDrone implements exemptions.DroneStore.
func (s *Store) GetDrone(caller context.Context, serial string) (fleet.Drone, error) {
	ctx, cancel := s.call(caller)
	defer cancel()
	d, err := pgGetDrone(ctx, s.pool, serial)
	if err != nil {
		return fleet.Drone{}, fail(caller, "get drone", err)
	}
	if d == nil {
		return fleet.Drone{}, fmt.Errorf("%s: %w", serial, exemptions.ErrDroneNotFound)
	}
	return *d, nil
}

// ListDrones implements exemptions.DroneStore.
func (s *Store) ListDrones(caller context.Context, unit string) ([]fleet.Drone, error) {
	ctx, cancel := s.call(caller)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT record FROM drones WHERE $1 = '' OR unit = $1 ORDER BY serial", unit)
	if err != nil {
		return nil, fail(caller, "list drones", err)
	}
	defer rows.Close()
	var out []fleet.Drone
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, fail(caller, "list drones", err)
		}
		d, err := storecore.ScanDrone(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, fail(caller, "list drones", rows.Err())
}
