package pgstore

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// notifyChannel is the LISTEN/NOTIFY channel of record changes; its
// payload is the new version.
const notifyChannel = "nofly_exemptions"

// Notify implements Notifier: it LISTENs on a connection of its own and
// calls changed for every change committed by any process, and after
// each (re)connection, since changes may have been missed while it was
// not listening. A lost connection is retried with a backoff of up to 5 s.
func (s *Store) Notify(ctx context.Context, log *slog.Logger, changed func()) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	failures := 0 // in a row: only the first is a warning
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, changed, func() {
			if failures > 0 {
				log.InfoContext(ctx, "exemption change notifications resumed")
			}
			backoff, failures = minBackoff, 0
		})
		if ctx.Err() != nil {
			return
		}
		if failures++; failures == 1 {
			log.WarnContext(ctx, "exemption change notifications interrupted; reconnecting", "err", err, "in", backoff)
		} else {
			log.DebugContext(ctx, "exemption change notifications still interrupted", "err", err, "in", backoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce listens until the connection fails or ctx ends; listening
// is called once LISTEN took effect.
func (s *Store) listenOnce(ctx context.Context, changed, listening func()) error {
	cctx, cancel := s.call(ctx)
	conn, err := pgx.ConnectConfig(cctx, s.listen)
	if err == nil {
		_, err = conn.Exec(cctx, "LISTEN "+notifyChannel)
	}
	cancel()
	if conn != nil {
		defer func() {
			c, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = conn.Close(c)
		}()
	}
	if err != nil {
		return fail(ctx, "listen", err)
	}
	listening()
	changed()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fail(ctx, "listen", err)
		}
		changed()
	}
}
