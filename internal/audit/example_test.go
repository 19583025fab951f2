package audit_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/evercast/evercast/internal/audit"
	"github.com/evercast/evercast/internal/store"
)

// A session's record: what aired, a comment answered, an operator's kill
// switch; then the chain is verified.
func ExampleLog() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "audit-example-")
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "evercast.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	clock := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	l := audit.NewLog(st, func() time.Time { clock = clock.Add(time.Second); return clock })

	_, _ = l.Append(ctx, "ses_1", "mer_1", audit.KindClipAired, audit.ActorPlayout, audit.ClipAired{
		ClipID: "clp_1", AirSeq: 1, Kind: "pitch", Text: "西湖龙井，明前采摘。",
		VideoKey: "clips/ab/ab12.ts", VideoSHA256: "ab12"})
	_, _ = l.Append(ctx, "ses_1", "", audit.KindComment, "viewer:小王", audit.Comment{
		CommentID: "cmt_1", Text: "多少钱？", Action: "answer", Intent: "price"})
	last, err := l.Append(ctx, "ses_1", "", audit.KindCommand, "operator:li", audit.Command{
		Command: audit.CommandCutToStandby, Scope: "session", Target: "ses_1", Result: "ok"})
	if err != nil {
		log.Fatal(err)
	}
	res, err := l.Verify(ctx, "ses_1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(last.Seq, string(last.Data))
	fmt.Println(res.OK, res.Records, res.Head == last.Hash)
	// Output:
	// 3 {"command":"cut_to_standby","result":"ok","scope":"session","target":"ses_1"}
	// true 3 true
}
