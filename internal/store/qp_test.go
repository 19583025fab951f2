package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestCuePlans checks on SQLite that Cue's queries are index lookups that
// do not grow with the aired history.
func TestCuePlans(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "plans.db"), nil)
	must(t, err)
	defer s.Close()
	tests := []struct {
		name, query, index string
	}{
		{"next priority", nextPriorityQuery, "clips_pending"},
		{"next normal", nextNormalQuery, "clips_pending"},
		{"last seq", lastSeqQuery, "clips_seq"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := s.db.Query("EXPLAIN QUERY PLAN "+tc.query, "ses_x")
			must(t, err)
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				must(t, rows.Scan(&id, &parent, &unused, &detail))
				plan = append(plan, detail)
			}
			must(t, rows.Err())
			got := strings.Join(plan, "; ")
			if !strings.Contains(got, "INDEX "+tc.index+" ") || strings.Contains(got, "TEMP B-TREE") {
				t.Fatalf("plan %q: want a search of %s without sorting", got, tc.index)
			}
		})
	}
}
