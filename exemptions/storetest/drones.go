package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/fleet"
)

// testDrones: the registry keeps records, never deletes them, refuses a
// second add and any change to a retired drone, and writes every change
// in the audit log, whose chain still verifies.
func testDrones(t *testing.T, s exemptions.Store) {
	ds, ok := s.(exemptions.DroneStore)
	if !ok {
		t.Fatal("the store keeps no drone registry")
	}
	ctx := context.Background()
	d := fleet.Drone{Serial: "1581F5FHC23610000A0B", Manufacturer: "DJI", Model: "Matrice 30T", Class: "C2", Unit: "AMS-DRONE",
		Status: fleet.StatusActive, Clearance: "regular", Capabilities: []string{"thermal"}}
	got, err := ds.AddDrone(ctx, d, "admin", T0)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Created.Equal(T0) || got.UpdatedBy != "admin" {
		t.Errorf("added %+v", got)
	}
	if _, err := ds.AddDrone(ctx, d, "admin", T0); !errors.Is(err, exemptions.ErrDroneExists) {
		t.Errorf("second add: %v", err)
	}
	other := d
	other.Serial, other.Manufacturer, other.Unit, other.Clearance = "PI4020", "Parrot", "RTM-DRONE", "confidential"
	if _, err := ds.AddDrone(ctx, other, "admin", T0); err != nil {
		t.Fatal(err)
	}
	d.Status = fleet.StatusMaintenance
	if got, err = ds.UpdateDrone(ctx, d, "admin2", T0.Add(time.Hour)); err != nil || got.Status != fleet.StatusMaintenance || !got.Created.Equal(T0) || !got.Updated.Equal(T0.Add(time.Hour)) {
		t.Fatalf("update: %+v, %v", got, err)
	}
	if _, err := ds.UpdateDrone(ctx, fleet.Drone{Serial: "NOPE"}, "admin", T0); !errors.Is(err, exemptions.ErrDroneNotFound) {
		t.Errorf("update unknown: %v", err)
	}
	if got, err = ds.RetireDrone(ctx, d.Serial, "crashed", "admin", T0.Add(2*time.Hour)); err != nil || got.Status != fleet.StatusRetired {
		t.Fatalf("retire: %+v, %v", got, err)
	}
	if _, err := ds.RetireDrone(ctx, d.Serial, "again", "admin", T0); !errors.Is(err, exemptions.ErrDroneRetired) {
		t.Errorf("retire twice: %v", err)
	}
	if _, err := ds.UpdateDrone(ctx, d, "admin", T0); !errors.Is(err, exemptions.ErrDroneRetired) {
		t.Errorf("update retired: %v", err)
	}
	if got, err = ds.GetDrone(ctx, d.Serial); err != nil || got.Status != fleet.StatusRetired || got.Model != "Matrice 30T" {
		t.Errorf("get retired: %+v, %v", got, err)
	}
	if _, err := ds.GetDrone(ctx, "NOPE"); !errors.Is(err, exemptions.ErrDroneNotFound) {
		t.Errorf("get unknown: %v", err)
	}
	all, err := ds.ListDrones(ctx, "")
	if err != nil || len(all) != 2 || all[0].Serial != d.Serial || all[1].Serial != "PI4020" {
		t.Errorf("list: %+v, %v", all, err)
	}
	if rtm, err := ds.ListDrones(ctx, "RTM-DRONE"); err != nil || len(rtm) != 1 {
		t.Errorf("list by unit: %+v, %v", rtm, err)
	}
	events, _, err := s.Audit(ctx, exemptions.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []exemptions.Action
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	want := []exemptions.Action{exemptions.ActionDroneAdd, exemptions.ActionDroneAdd, exemptions.ActionDroneUpdate, exemptions.ActionDroneRetire}
	if len(actions) != len(want) {
		t.Fatalf("audit actions %v; want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Errorf("audit actions %v; want %v", actions, want)
		}
	}
	if v, err := s.VerifyAudit(ctx); err != nil || len(v.Problems) > 0 {
		t.Errorf("verify: %+v, %v", v, err)
	}
}

// DroneTampered is what VerifyAudit must say after a registry row was
// changed behind the log's back (by tamper, with the store's own SQL).
func DroneTampered(t *testing.T, s exemptions.Store, tamper func(serial string)) {
	t.Helper()
	ds := s.(exemptions.DroneStore)
	ctx := context.Background()
	d := fleet.Drone{Serial: "TAMPER-1", Manufacturer: "DJI", Model: "M30T", Unit: "AMS", Status: fleet.StatusActive, Clearance: "regular"}
	if _, err := ds.AddDrone(ctx, d, "admin", T0); err != nil {
		t.Fatal(err)
	}
	tamper("TAMPER-1")
	v, err := s.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Problems) != 1 || v.Problems[0] != "drone TAMPER-1: the registry's record differs from the audit log's last entry for it" {
		t.Errorf("problems %q", v.Problems)
	}
}
