package store

import (
	"context"
	"fmt"
	"time"

	"github.com/evercast/evercast"
)

// The orchestrator looks at every on-air session once a second. With
// hundreds of sessions, one round trip per session per question would cost
// more than the planning itself, so these methods answer for many sessions
// at once, in chunks of batchSize ids.
const batchSize = 500

// chunks calls fn with successive slices of at most batchSize ids.
func chunks(ids []string, fn func(part []string, args []any) error) error {
	for start := 0; start < len(ids); start += batchSize {
		part := ids[start:min(start+batchSize, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		if err := fn(part, args); err != nil {
			return err
		}
	}
	return nil
}

// AcquireLeases is AcquireLease for many sessions in one statement per
// chunk: owner takes or renews the lease of each session among ids whose
// lease is free, expired (its end at or before now) or already owner's. It
// returns the ids owner holds afterwards; sessions held by another owner,
// and missing ones, are left out.
func (s *Store) AcquireLeases(ctx context.Context, ids []string, owner string, ttl time.Duration, now time.Time) (map[string]bool, error) {
	if owner == "" {
		return nil, fmt.Errorf("acquire leases: %w", evercast.Invalid("owner", "is required"))
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("acquire leases: %w", evercast.Invalid("ttl", "must be positive"))
	}
	held := make(map[string]bool, len(ids))
	err := chunks(ids, func(part []string, idArgs []any) error {
		args := append([]any{owner, msOf(now.Add(ttl))}, idArgs...)
		args = append(args, owner, msOf(now))
		rows, err := s.query(ctx, s.db, `UPDATE sessions SET owner = ?, lease_until = ?
			WHERE id IN (`+placeholders(len(part))+`) AND (owner = '' OR owner = ? OR lease_until <= ?)
			RETURNING id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			held[id] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("acquire leases: %w", err)
	}
	return held, nil
}

// PlannerStates returns the planner state last saved by PlanClips for each
// of the sessions that has one.
func (s *Store) PlannerStates(ctx context.Context, ids []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(ids))
	err := chunks(ids, func(part []string, args []any) error {
		rows, err := s.query(ctx, s.db, "SELECT id, planner_state FROM sessions WHERE id IN ("+placeholders(len(part))+
			") AND planner_state IS NOT NULL", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var b []byte
			if err := rows.Scan(&id, &b); err != nil {
				return err
			}
			out[id] = b
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("planner states: %w", err)
	}
	return out, nil
}

// pendingStatsQuery sums up the pending clips of n sessions.
func pendingStatsQuery(n int) string {
	return `SELECT session_id, state, COUNT(*), CAST(COALESCE(SUM(duration_ms), 0) AS BIGINT)
		FROM clips WHERE session_id IN (` + placeholders(n) + `) AND ` + queuedCond + `
		GROUP BY session_id, state`
}

// PendingStats returns, for each of the sessions that has pending clips
// (standby templates aside), the two figures the planner needs, computed as
// ClipStats computes them: ReadyMS and InFlight. The other fields are zero.
// It reads only the pending clips (the clips_pending index), never the
// aired history.
func (s *Store) PendingStats(ctx context.Context, ids []string) (map[string]ClipStats, error) {
	out := make(map[string]ClipStats, len(ids))
	err := chunks(ids, func(part []string, args []any) error {
		rows, err := s.query(ctx, s.db, pendingStatsQuery(len(part)), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, state string
			var n, sum int64
			if err := rows.Scan(&id, &state, &n, &sum); err != nil {
				return err
			}
			st := out[id]
			if evercast.ClipState(state) == evercast.ClipRendered {
				st.ReadyMS += sum
			} else {
				st.InFlight += int(n)
			}
			out[id] = st
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pending stats: %w", err)
	}
	return out, nil
}
