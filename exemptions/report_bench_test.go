package exemptions_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nofly-project/nofly/exemptions"
	"github.com/nofly-project/nofly/exemptions/internal/storecore"
	"github.com/nofly-project/nofly/exemptions/pgstore"
	"github.com/nofly-project/nofly/exemptions/report"
	"github.com/nofly-project/nofly/exemptions/sqlitestore"
	"github.com/nofly-project/nofly/exemptions/storetest"
	"github.com/nofly-project/nofly/internal/pgtest"
)

// reportLogEntries is a year of a national force: 100,000 audit entries.
const reportLogEntries = 100_000

// reportLog makes the entries after the log of st up to
// reportLogEntries: exempted checks, through the year, of 25 units,
// 7 purposes and 300 drones, relying on the exemptions issued. They are
// sealed as the store seals them, to be inserted in one transaction (one
// RecordCheck each would take minutes).
func reportLog(b *testing.B, st exemptions.Store, exs []exemptions.Exemption) []exemptions.AuditEvent {
	ctx := context.Background()
	v, err := st.VerifyAudit(ctx)
	if err != nil || !v.OK() {
		b.Fatalf("%+v %v", v, err)
	}
	seq, prev := v.Entries, v.HeadHash
	out := make([]exemptions.AuditEvent, 0, reportLogEntries-int(seq))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; seq < reportLogEntries; i++ {
		ex := exs[i%len(exs)]
		c := exemptions.CheckRecord{At: t0.Add(time.Duration(i) * 5 * time.Minute), Actor: fmt.Sprintf("CN=pilot %d", i%400),
			Unit: ex.Holder.Unit, Pilot: fmt.Sprintf("P-%d", i%400), Drone: fmt.Sprintf("SN-%d", i%300),
			Purpose: exemptions.Purposes[i%len(exemptions.Purposes)], ClientReference: fmt.Sprintf("M-%d", i),
			ExemptionIDs: []string{ex.ID}, ZoneIDs: ex.ZoneIDs, Verdict: "EXEMPTED"}
		seq++
		e, entry, err := storecore.Seal(exemptions.AuditEvent{At: c.At, Action: exemptions.ActionCheck, Actor: c.ActorName(),
			ExemptionIDs: c.ExemptionIDs, ClientReference: c.ClientReference}, c, seq, prev)
		if err != nil {
			b.Fatal(err)
		}
		e.Entry = entry
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func reportExemptions(b *testing.B, st exemptions.Store) []exemptions.Exemption {
	var exs []exemptions.Exemption
	for i := range 100 {
		ex, err := st.Create(context.Background(), exemptions.Request{}, storetest.Record(fmt.Sprintf("U-%d", i%25), fmt.Sprintf("NL-%d", i%40)))
		if err != nil {
			b.Fatal(err)
		}
		exs = append(exs, ex)
	}
	return exs
}

// cpuTime is the processor time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReport is a report by month and purpose over a year from a log
// of 100,000 entries: verifying the log and its records, reading it page
// by page and counting. The issue asks for under a second.
func BenchmarkReport(b *testing.B) {
	ctx := context.Background()
	o := report.Options{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		By: []report.Grouping{report.ByMonth, report.ByPurpose}}
	run := func(b *testing.B, st exemptions.Store) {
		b.ReportAllocs()
		cpu0 := cpuTime()
		for b.Loop() {
			r, err := report.Compute(ctx, st, o)
			if err != nil {
				b.Fatal(err)
			}
			if r.HeadSeq != reportLogEntries || r.Total.ExemptedChecks != reportLogEntries-100 {
				b.Fatalf("head %d, %d checks", r.HeadSeq, r.Total.ExemptedChecks)
			}
		}
		// On a shared machine the time a report takes depends on what
		// else runs; the processor time it needs (this process's: all of it with
		// SQLite, without the database server's with PostgreSQL) does not.
		b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	}
	b.Run("sqlite", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "nofly.db")
		st, err := sqlitestore.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		entries := reportLog(b, st, reportExemptions(b, st))
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			b.Fatal(err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range entries {
			if _, err := tx.Exec("INSERT INTO audit (seq, action, actor, ids, entry, hash) VALUES (?, ?, ?, ?, ?, ?)",
				e.Seq, string(e.Action), e.Actor, storecore.IDsColumn(e.ExemptionIDs), string(e.Entry), e.Hash); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		db.Close()
		run(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		url := pgtest.New(b)
		st, err := pgstore.Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		entries := reportLog(b, st, reportExemptions(b, st))
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		rows := make([][]any, len(entries))
		for i, e := range entries {
			rows[i] = []any{e.Seq, string(e.Action), e.Actor, storecore.IDsColumn(e.ExemptionIDs), string(e.Entry), e.Hash}
		}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"audit"}, []string{"seq", "action", "actor", "ids", "entry", "hash"},
			pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		last := entries[len(entries)-1]
		if _, err := conn.Exec(ctx, "UPDATE chain_head SET audit_seq = $1, audit_hash = $2", last.Seq, last.Hash); err != nil {
			b.Fatal(err)
		}
		run(b, st)
	})
}
