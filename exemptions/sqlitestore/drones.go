package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
	"github.com/nofly-project/nofly/fleet"
)

var _ exemptions.DroneStore = (*Store)(nil)

func sqliteGetDrone(ctx context.Context, q querier, serial string) (*fleet.Drone, error) {
	var rec string
	err := q.QueryRowContext(ctx, "SELECT record FROM drones WHERE serial = ?", serial).Scan(&rec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d, err := storecore.ScanDrone(rec)
	return &d, err
}

// droneWrite stores the change a storecore function decides from the
// stored record.
func (s *Store) droneWrite(ctx context.Context, serial string, change func(old *fleet.Drone) (fleet.Drone, exemptions.AuditEvent, any, error)) (fleet.Drone, error) {
	var out fleet.Drone
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := sqliteGetDrone(ctx, tx, serial)
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
			_, err = tx.ExecContext(ctx, "INSERT INTO drones (serial, unit, record) VALUES (?, ?, ?)", d.Serial, d.Unit, rec)
		} else {
			_, err = tx.ExecContext(ctx, "UPDATE drones SET unit = ?, record = ? WHERE serial = ?", d.Unit, rec, d.Serial)
		}
		if err != nil {
			return err
		}
		_, err = appendAudit(ctx, tx, e, detail)
		out = d
		return err
	})
	return out, err
}

// AddDrone implements exemptions.DroneStore.
func (s *Store) AddDrone(ctx context.Context, d fleet.Drone, actor string, at time.Time) (fleet.Drone, error) {
	return s.droneWrite(ctx, d.Serial, func(old *fleet.Drone) (fleet.Drone, exemptions.AuditEvent, any, error) {
		return storecore.DroneChange(exemptions.ActionDroneAdd, old, d, actor, at)
	})
}

// UpdateDrone implements exemptions.DroneStore.
func (s *Store) UpdateDrone(ctx context.Context, d fleet.Drone, actor string, at time.Time) (fleet.Drone, error) {
	return s.droneWrite(ctx, d.Serial, func(old *fleet.Drone) (fleet.Drone, exemptions.AuditEvent, any, error) {
		return storecore.DroneChange(exemptions.ActionDroneUpdate, old, d, actor, at)
	})
}

// RetireDrone implements exemptions.DroneStore.
func (s *Store) RetireDrone(ctx context.Context, serial, reason, actor string, at time.Time) (fleet.Drone, error) {
	return s.droneWrite(ctx, serial, func(old *fleet.Drone) (fleet.Drone, exemptions.AuditEvent, any, error) {
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
func (s *Store) GetDrone(ctx context.Context, serial string) (fleet.Drone, error) {
	d, err := sqliteGetDrone(ctx, s.db, serial)
	if err != nil {
		return fleet.Drone{}, err
	}
	if d == nil {
		return fleet.Drone{}, fmt.Errorf("%s: %w", serial, exemptions.ErrDroneNotFound)
	}
	return *d, nil
}

// ListDrones implements exemptions.DroneStore.
func (s *Store) ListDrones(ctx context.Context, unit string) ([]fleet.Drone, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT record FROM drones WHERE ? = '' OR unit = ? ORDER BY serial", unit, unit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Drone
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, err
		}
		d, err := storecore.ScanDrone(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
