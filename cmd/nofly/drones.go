package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"google.golang.org/grpc"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// callDrones is call for the drone registry.
func callDrones(ctx context.Context, e *env, fn func(ctx context.Context, c noflyv1.DroneServiceClient) error) error {
	return dial(ctx, e, func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(ctx, noflyv1.NewDroneServiceClient(conn))
	})
}

// droneFlags are a record's fields on the command line; set tells which
// were given.
type droneFlags struct {
	serial, manufacturer, model, unit, clearance, class, status, caps string
	set                                                               map[string]bool
}

func (d *droneFlags) register(fs *flag.FlagSet, withSerial bool) {
	if withSerial {
		fs.StringVar(&d.serial, "serial", "", "the drone's `serial` number (ANSI/CTA-2063-A form accepted); required")
	}
	fs.StringVar(&d.manufacturer, "manufacturer", "", "`manufacturer`, e.g. DJI")
	fs.StringVar(&d.model, "model", "", "`model`, e.g. \"Matrice 30T\"")
	fs.StringVar(&d.unit, "unit", "", "owning `unit`; only its flights may use the drone")
	fs.StringVar(&d.clearance, "clearance", "", "data-handling `level` the force assigns it, a level of the policy (e.g. regular, confidential)")
	fs.StringVar(&d.class, "class", "", "EU `class` mark C0 to C6, or none")
	fs.StringVar(&d.caps, "capabilities", "", "comma-separated `list` of capabilities, e.g. thermal,zoom")
}

func (d *droneFlags) visit(fs *flag.FlagSet) {
	d.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { d.set[f.Name] = true })
}

func (d *droneFlags) apply(p *noflyv1.Drone) {
	str := map[string]*string{"manufacturer": &p.Manufacturer, "model": &p.Model, "unit": &p.Unit, "clearance": &p.Clearance, "class": &p.ClassMark}
	val := map[string]string{"manufacturer": d.manufacturer, "model": d.model, "unit": d.unit, "clearance": d.clearance, "class": d.class}
	for k, ptr := range str {
		if d.set[k] {
			*ptr = val[k]
		}
	}
	if d.set["capabilities"] {
		p.Capabilities = nil
		for _, c := range strings.Split(d.caps, ",") {
			if c = strings.TrimSpace(c); c != "" {
				p.Capabilities = append(p.Capabilities, c)
			}
		}
	}
}

func dronesAddCommand() *command {
	var d droneFlags
	var fs *flag.FlagSet
	return &command{
		name:  "drones add",
		usage: "--serial S --manufacturer M --model X --unit U --clearance LEVEL [--class C2] [--capabilities LIST]",
		summary: `Registers a drone of the force (administrators). A check that names a drone
the registry does not hold, one retired or in maintenance, or one of another
unit, is DENIED (unless noflyd runs with --registry warn).`,
		example: "  nofly drones add --serial 1581F5FHC23610000A0B --manufacturer DJI --model \"Matrice 30T\" --unit AMS-DRONE --clearance regular --class C2\n",
		flags:   func(f *flag.FlagSet) { fs = f; d.register(f, true) },
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly drones add"
			if len(args) > 0 {
				return &usageError{cmd: name, msg: fmt.Sprintf("unexpected argument %q", args[0])}
			}
			d.visit(fs)
			for _, k := range []string{"serial", "manufacturer", "model", "unit", "clearance"} {
				if !d.set[k] {
					return &usageError{cmd: name, msg: "--" + k + " is required"}
				}
			}
			p := &noflyv1.Drone{Serial: d.serial}
			d.apply(p)
			var resp *noflyv1.AddDroneResponse
			err := callDrones(ctx, e, func(ctx context.Context, c noflyv1.DroneServiceClient) (err error) {
				resp, err = c.AddDrone(ctx, &noflyv1.AddDroneRequest{Drone: p})
				return err
			})
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(e, resp.GetDrone())
			}
			return printDrone(e.stdout, "Registered", resp.GetDrone())
		},
	}
}

func dronesUpdateCommand() *command {
	var d droneFlags
	var fs *flag.FlagSet
	return &command{
		name:  "drones update",
		usage: "SERIAL [--status active|maintenance] [--unit U] [--clearance LEVEL] [--model X] [flags]",
		summary: `Changes a drone's record (administrators): only the fields given change.
A drone in maintenance may not fly until it is active again. A retired drone's
record is kept as it was.`,
		example: "  nofly drones update 1581F5FHC23610000A0B --status maintenance\n",
		flags: func(f *flag.FlagSet) {
			fs = f
			d.register(f, false)
			f.StringVar(&d.status, "status", "", "`status`: active or maintenance (retire with nofly drones retire)")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly drones update"
			if len(args) != 1 {
				return &usageError{cmd: name, msg: "give exactly one serial"}
			}
			d.visit(fs)
			if len(d.set) == 0 {
				return &usageError{cmd: name, msg: "nothing to change"}
			}
			var st noflyv1.DroneStatus
			if d.set["status"] {
				switch strings.ToLower(d.status) {
				case "active":
					st = noflyv1.DroneStatus_DRONE_STATUS_ACTIVE
				case "maintenance":
					st = noflyv1.DroneStatus_DRONE_STATUS_MAINTENANCE
				default:
					return &usageError{cmd: name, msg: fmt.Sprintf("--status %q: want active or maintenance", d.status)}
				}
			}
			var resp *noflyv1.UpdateDroneResponse
			err := callDrones(ctx, e, func(ctx context.Context, c noflyv1.DroneServiceClient) error {
				got, err := c.GetDrone(ctx, &noflyv1.GetDroneRequest{Serial: args[0]})
				if err != nil {
					return err
				}
				p := got.GetDrone()
				d.apply(p)
				if st != 0 {
					p.Status = st
				}
				resp, err = c.UpdateDrone(ctx, &noflyv1.UpdateDroneRequest{Drone: p})
				return err
			})
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(e, resp.GetDrone())
			}
			return printDrone(e.stdout, "Updated", resp.GetDrone())
		},
	}
}

func dronesRetireCommand() *command {
	var reason string
	return &command{
		name:  "drones retire",
		usage: "SERIAL --reason TEXT",
		summary: `Retires a drone for good (administrators). Its record stays, as it was; checks
that name it are DENIED.`,
		example: "  nofly drones retire 1581F5FHC23610000A0B --reason \"written off after a crash\"\n",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&reason, "reason", "", "why, for the audit log; required")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			const name = "nofly drones retire"
			if len(args) != 1 {
				return &usageError{cmd: name, msg: "give exactly one serial"}
			}
			if strings.TrimSpace(reason) == "" {
				return &usageError{cmd: name, msg: "--reason required"}
			}
			var resp *noflyv1.RetireDroneResponse
			err := callDrones(ctx, e, func(ctx context.Context, c noflyv1.DroneServiceClient) (err error) {
				resp, err = c.RetireDrone(ctx, &noflyv1.RetireDroneRequest{Serial: args[0], Reason: reason})
				return err
			})
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(e, resp.GetDrone())
			}
			return printDrone(e.stdout, "Retired", resp.GetDrone())
		},
	}
}

func dronesShowCommand() *command {
	return &command{
		name:    "drones show",
		usage:   "SERIAL",
		summary: `Shows one drone of the registry (administrators, auditors).`,
		example: "  nofly drones show 1581F5FHC23610000A0B\n",
		flags:   func(*flag.FlagSet) {},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) != 1 {
				return &usageError{cmd: "nofly drones show", msg: "give exactly one serial"}
			}
			var resp *noflyv1.GetDroneResponse
			err := callDrones(ctx, e, func(ctx context.Context, c noflyv1.DroneServiceClient) (err error) {
				resp, err = c.GetDrone(ctx, &noflyv1.GetDroneRequest{Serial: args[0]})
				return err
			})
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(e, resp.GetDrone())
			}
			return printDrone(e.stdout, "Drone", resp.GetDrone())
		},
	}
}

func dronesListCommand() *command {
	var unit string
	return &command{
		name:    "drones list",
		usage:   "[--unit U]",
		summary: `Lists the drones of the registry, retired ones too (administrators, auditors; pilots and planners their own unit's).`,
		example: "  nofly drones list --unit AMS-DRONE\n",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&unit, "unit", "", "only this `unit`'s drones")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return &usageError{cmd: "nofly drones list", msg: fmt.Sprintf("unexpected argument %q", args[0])}
			}
			var resp *noflyv1.ListDronesResponse
			err := callDrones(ctx, e, func(ctx context.Context, c noflyv1.DroneServiceClient) (err error) {
				resp, err = c.ListDrones(ctx, &noflyv1.ListDronesRequest{Unit: unit})
				return err
			})
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(e, resp)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tMANUFACTURER\tMODEL\tCLASS\tUNIT\tSTATUS\tCLEARANCE")
			for _, d := range resp.GetDrones() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", esc(d.GetSerial()), esc(d.GetManufacturer()), esc(d.GetModel()),
					orDash(esc(d.GetClassMark())), esc(d.GetUnit()), droneStatus(d.GetStatus()), esc(d.GetClearance()))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%d drone%s\n", len(resp.GetDrones()), plural(len(resp.GetDrones())))
			return err
		},
	}
}

func droneStatus(s noflyv1.DroneStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "DRONE_STATUS_"))
}

// printDrone prints one record for a person.
func printDrone(w io.Writer, what string, d *noflyv1.Drone) error {
	caps := "none"
	if len(d.GetCapabilities()) > 0 {
		caps = esc(strings.Join(d.GetCapabilities(), ", "))
	}
	_, err := fmt.Fprintf(w, "%s %s: %s %s, class %s, unit %s, %s, cleared for %s; capabilities %s\n  changed %s by %s\n",
		what, esc(d.GetSerial()), esc(d.GetManufacturer()), esc(d.GetModel()), orDash(esc(d.GetClassMark())), esc(d.GetUnit()),
		droneStatus(d.GetStatus()), esc(d.GetClearance()), caps, fmtTime(d.GetUpdated()), esc(d.GetUpdatedBy()))
	return err
}
