package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/testenv"
)

// chromiumPath finds Debian's Chromium, failing with how to install it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("Chromium is needed to test the console in a browser: apt-get install chromium")
	return ""
}

// TestConsoleInBrowser drives the operator console in headless Chromium
// against `evercast serve --clock fast` with the demo on air: sign in, find
// the session's card, open its panel, pause and resume it over the
// websocket (the card and the REST status follow), have a say-now text
// aired (the panel shows it aired, and so does the rundown), and push a
// viewer comment that appears in the feed with what was done with it; then
// sign in again with the merchant's key (per-session subscriptions), take
// the session off air behind a confirmation, and start it again. The page
// must write no error to the browser console on the way.
func TestConsoleInBrowser(t *testing.T) {
	chrome := chromiumPath(t)
	data := t.TempDir()
	s := startServe(t, data, "test-token-0123456789abcdef", "--clock", "fast")
	id := seedDemo(t, s)
	waitAired(t, s, id, 2, 3*time.Minute)
	var ses evercast.Session
	if code := s.call(t, http.MethodGet, "/v1/sessions/"+id, nil, &ses); code != http.StatusOK {
		t.Fatalf("get session: %d", code)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)

	// Everything the page writes to the console, to fail on errors.
	var (
		mu       sync.Mutex
		messages []chromedp.ConsoleMessage
	)
	console := chromedp.Console(bctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			messages = append(messages, m)
			mu.Unlock()
		}
	}()

	// Screenshots of the main steps, and of a failure; `go test -artifacts`
	// keeps them (under -outputdir).
	shots := t.ArtifactDir()
	shot := func(name string) string {
		png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Logf("screenshot %s: %v", name, err)
			return ""
		}
		path := filepath.Join(shots, name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Logf("screenshot %s: %v", name, err)
			return ""
		}
		return path
	}
	// Registered after the contexts' cancels, so it runs before them.
	t.Cleanup(func() {
		if t.Failed() {
			if path := shot("failure"); path != "" {
				t.Logf("screenshot of the failure: %s", path)
			}
			t.Logf("server log (tail):\n%s", tail(s.logs.String(), 3000))
		}
	})

	card := fmt.Sprintf(`.card[data-session=%q]`, id)
	// lastSeq is the latest seq the panel lists as aired.
	lastSeq := `Math.max(0, ...[...document.querySelectorAll('#panel-aired li[data-seq]')].map((li) => +li.dataset.seq))`
	// step runs browser actions, failing the test with what it was doing.
	start := time.Now()
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%5.1fs %s", time.Since(start).Seconds(), what)
	}
	// waitJS polls a JavaScript expression until it is true.
	waitJS := func(what, expr string, timeout time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%5.1fs %s", time.Since(start).Seconds(), what)
	}
	// text reads an element's text in one step in the page: the page redraws
	// lists as events arrive, so a node found in one call may be gone in the
	// next.
	text := func(sel string) string {
		t.Helper()
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) throw new Error('nothing matches'); return e.innerText; })()`, sel)
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}
	restState := func() evercast.SessionState {
		t.Helper()
		var st evercast.SessionStatus
		if code := s.call(t, http.MethodGet, "/v1/sessions/"+id+"/status", nil, &st); code != http.StatusOK {
			t.Fatalf("status: %d", code)
		}
		return st.State
	}

	// Sign in; the grid fills from REST and the live feed connects.
	step("sign in",
		chromedp.Navigate(s.base+"/"),
		chromedp.WaitVisible("#token"),
		chromedp.SendKeys("#token", s.token),
		chromedp.Click(`#sign-in-form button[type="submit"]`),
		chromedp.WaitVisible(card+`[data-state="live"]`),
	)
	waitJS("the websocket feed goes live", `document.getElementById('conn').dataset.conn === 'live'`, 30*time.Second)
	if who := text("#who-name"); who != "Operator" {
		t.Errorf("signed in as %q, want Operator", who)
	}
	stored, err := chromedp.Run(bctx, chromedp.Evaluate[string](`localStorage.getItem('evercast.token') || ''`))
	if err != nil || stored != s.token {
		t.Errorf("localStorage holds %q (%v), want the token", stored, err)
	}
	// The card shows the clip on air with its script, kept current by events.
	waitJS("a clip with its script on air in the card",
		fmt.Sprintf(`(() => { const e = document.querySelector('%s .on-air .clip-text'); return !!e && e.textContent.length > 4; })()`, card),
		60*time.Second)
	if title := text(card + " .title"); title != ses.Title {
		t.Errorf("card title %q, want %q", title, ses.Title)
	}
	if g := text(card + " .gauge-value"); !strings.HasSuffix(g, fmt.Sprintf(" s / %d s", ses.LookaheadSeconds)) {
		t.Errorf("gauge %q does not measure against the lookahead %d s", g, ses.LookaheadSeconds)
	}

	// The panel: every command, products to focus on, comments.
	step("open the session's panel",
		chromedp.Click(card+" .open"),
		chromedp.WaitVisible("#panel"),
	)
	if got := text("#panel-title"); got != ses.Title {
		t.Errorf("panel title %q, want %q", got, ses.Title)
	}
	waitJS("the session's products to focus on",
		fmt.Sprintf(`document.querySelectorAll('#focus-product option[value^="prd_"]').length === %d`, len(ses.ProductIDs)),
		30*time.Second)
	// The live preview plays in the panel through hls.js, which sends the
	// token on every playlist and segment request.
	step("start the live preview",
		chromedp.Click("#panel-preview-start"),
		chromedp.WaitVisible("#panel-preview #player"),
	)
	waitJS("the preview plays", `document.getElementById('video').currentTime > 0.5`, 45*time.Second)
	shot("panel-live")
	step("close the preview",
		chromedp.Click("#player-close"),
		chromedp.WaitNotVisible("#player"),
	)

	// Pause over the websocket: the ack shows, the card turns paused, and
	// the REST status agrees.
	step("pause",
		chromedp.Click(`#commands button[data-command="pause"]`),
		chromedp.WaitVisible(`#cmd-log li[data-command="pause"][data-state="ok"]`),
		chromedp.WaitVisible(card+`[data-state="paused"]`),
	)
	if st := text(card + " .state"); !strings.EqualFold(st, "paused") {
		t.Errorf("card badge says %q after pause", st)
	}
	if fb := text("#cmd-feedback"); !strings.Contains(fb, "paused") {
		t.Errorf("feedback after pause: %q", fb)
	}
	if st := restState(); st != evercast.SessionPaused {
		t.Fatalf("REST status after pause in the console: %s", st)
	}
	shot("paused")
	step("resume",
		chromedp.WaitEnabled(`#commands button[data-command="resume"]`),
		chromedp.Click(`#commands button[data-command="resume"]`),
		chromedp.WaitVisible(`#cmd-log li[data-command="resume"][data-state="ok"]`),
		chromedp.WaitVisible(card+`[data-state="live"]`),
	)
	if st := restState(); st != evercast.SessionLive {
		t.Fatalf("REST status after resume in the console: %s", st)
	}

	// Focus a product, skip the clip on air, cut to standby (which holds the
	// session, paused) and resume: each is acknowledged in the panel.
	focus := ses.ProductIDs[len(ses.ProductIDs)-1]
	step("focus a product",
		chromedp.WaitEnabled("#focus-send"),
		chromedp.SetValue("#focus-product", focus),
		chromedp.Click("#focus-send"),
		chromedp.WaitVisible(`#cmd-log li[data-command="focus"][data-state="ok"]`),
	)
	if got := text(`#cmd-log li[data-command="focus"]`); !strings.Contains(got, focus) {
		t.Errorf("focus log entry %q does not name %s", got, focus)
	}
	step("skip the clip on air",
		chromedp.WaitEnabled(`#commands button[data-command="skip"]`),
		chromedp.Click(`#commands button[data-command="skip"]`),
		chromedp.WaitVisible(`#cmd-log li[data-command="skip"][data-state="ok"]`),
	)
	step("cut to standby, then resume",
		chromedp.WaitEnabled(`#commands button[data-command="standby"]`),
		chromedp.Click(`#commands button[data-command="standby"]`),
		chromedp.WaitVisible(`#cmd-log li[data-command="standby"][data-state="ok"]`),
		chromedp.WaitVisible(card+`[data-state="paused"]`),
		chromedp.WaitEnabled(`#commands button[data-command="resume"]`),
		chromedp.Click(`#commands button[data-command="resume"]`),
		chromedp.WaitVisible(card+`[data-state="live"]`),
	)

	// Say now: the clip is planned, voiced, rendered and aired; the panel
	// lists it as aired, and the rundown has it as a "say" clip.
	const say = "今晚八点还有一场直播，欢迎再来。"
	step("say now",
		chromedp.WaitEnabled("#say-send"),
		chromedp.SendKeys("#say-text", say),
	)
	if v, err := chromedp.Run(bctx, chromedp.Value("#say-text")); err != nil || v != say {
		t.Fatalf("say box holds %q (%v)", v, err)
	}
	step("send the say-now text",
		chromedp.Click("#say-send"),
		chromedp.WaitVisible(`#cmd-log li[data-command="say"][data-state="ok"]`),
	)
	clipID := between(text(`#cmd-log li[data-command="say"][data-state="ok"]`), "clip id ", "")
	if !strings.HasPrefix(clipID, "clp_") {
		t.Fatalf("the say ack names no clip: %q", text(`#cmd-log li[data-command="say"]`))
	}
	aired := fmt.Sprintf(`#panel-aired li[data-clip-id=%q][data-kind="say"][data-state="aired"]`, clipID)
	step("the say-now clip shows as aired in the panel",
		chromedp.WaitVisible(aired),
	)
	if got := text(aired + " .clip-body"); !strings.Contains(got, "欢迎再来") {
		t.Errorf("the aired say clip reads %q, want the text sent", got)
	}
	var found *evercast.RundownEntry
	for _, c := range s.rundown(t, id).Clips {
		if c.ID == clipID {
			found = c
		}
	}
	if found == nil || found.Kind != evercast.KindSay || found.State != evercast.ClipAired {
		t.Fatalf("rundown entry of the say clip %s: %+v", clipID, found)
	}

	// A test comment pushed from the panel shows in the feed with the
	// router's verdict, and the reply it gets.
	const question = "蜂蜜多少钱？"
	step("push a comment",
		chromedp.SendKeys("#comment-text", question),
		chromedp.Click("#comment-send"),
		chromedp.WaitVisible(`#comment-feed li.comment[data-action="answer"]`),
	)
	feed := text("#comment-feed")
	if !strings.Contains(feed, question) || !strings.Contains(feed, "console-test") {
		t.Errorf("comment feed lacks the comment:\n%s", feed)
	}
	if fb := text("#comment-feedback"); !strings.Contains(fb, "1 new") {
		t.Errorf("comment push feedback: %q", fb)
	}
	step("the reply shows under the comment",
		chromedp.WaitVisible(`#comment-feed li.comment[data-action="answer"] .c-reply`),
	)
	shot("comments")

	// The server restarts: the console reconnects by itself, is told that
	// its resume point is gone (sequence numbers start again), reloads the
	// state over REST, and events flow again.
	// While the server is down, the browser logs the requests that could
	// not connect; those are expected, and only those.
	mu.Lock()
	downFrom := len(messages)
	mu.Unlock()
	restartServe(t, s, data, "--clock", "fast")
	t.Logf("%5.1fs server restarted", time.Since(start).Seconds())
	waitJS("the console reconnects and reloads after the restart",
		`document.getElementById('conn').dataset.conn === 'live' && +document.getElementById('conn').dataset.resyncs >= 1`,
		60*time.Second)
	mu.Lock()
	downTo := len(messages)
	mu.Unlock()
	seq0, err := chromedp.Run(bctx, chromedp.Evaluate[int](lastSeq))
	if err != nil {
		t.Fatal(err)
	}
	waitJS("a clip aired after the restart shows in the panel", fmt.Sprintf("%s > %d", lastSeq, seq0), 90*time.Second)

	// Sign out, and in again with the merchant's own key: a merchant may not
	// subscribe to "*", so the console subscribes to its sessions by id.
	step("sign out",
		chromedp.Click("#sign-out"),
		chromedp.WaitVisible("#sign-in"),
	)
	if stored, err := chromedp.Run(bctx, chromedp.Evaluate[string](`localStorage.getItem('evercast.token') || ''`)); err != nil || stored != "" {
		t.Errorf("after sign-out localStorage holds %q (%v)", stored, err)
	}
	var key struct{ Token string }
	if code := s.call(t, http.MethodPost, "/v1/merchants/"+ses.MerchantID+"/keys", nil, &key); code/100 != 2 || key.Token == "" {
		t.Fatalf("merchant key: %d", code)
	}
	step("sign in with the merchant key",
		chromedp.SendKeys("#token", key.Token),
		chromedp.Click(`#sign-in-form button[type="submit"]`),
		chromedp.WaitVisible(card+`[data-state="live"]`),
	)
	waitJS("the merchant's feed goes live", `document.getElementById('conn').dataset.conn === 'live'`, 30*time.Second)
	if who := text("#who-name"); who != "Merchant key" {
		t.Errorf("signed in with the merchant key as %q", who)
	}

	// Events reach the merchant's console: the panel, which read the
	// rundown once when it opened, lists clips aired since.
	step("open the panel as the merchant",
		chromedp.Click(card+" .open"),
		chromedp.WaitVisible(`#panel-aired li[data-seq]`),
	)
	seq, err := chromedp.Run(bctx, chromedp.Evaluate[int](lastSeq))
	if err != nil {
		t.Fatal(err)
	}
	waitJS("a clip aired after the panel opened, from the merchant's feed", fmt.Sprintf("%s > %d", lastSeq, seq), 60*time.Second)

	// Take the session off air from the panel: a confirmation first
	// (cancel keeps it on air), then the cut; then start it again from its
	// card over REST.
	step("ask to take the session off air, and cancel",
		chromedp.WaitEnabled(`#commands button[data-command="cut"]`),
		chromedp.Click(`#commands button[data-command="cut"]`),
		chromedp.WaitVisible("#confirm"),
		chromedp.Click(`#confirm button[value="cancel"]`),
		chromedp.WaitNotVisible("#confirm"),
	)
	if st := restState(); st != evercast.SessionLive {
		t.Fatalf("after a cancelled cut the session is %s", st)
	}
	step("take the session off air",
		chromedp.Click(`#commands button[data-command="cut"]`),
		chromedp.WaitVisible("#confirm"),
		chromedp.Click("#confirm-ok"),
		chromedp.WaitVisible(`#cmd-log li[data-command="cut"][data-state="ok"]`),
		chromedp.WaitVisible(card+`[data-state="ended"]`),
	)
	var after evercast.Session
	if code := s.call(t, http.MethodGet, "/v1/sessions/"+id, nil, &after); code != http.StatusOK || after.State != evercast.SessionEnded {
		t.Fatalf("after the cut the session is %s (%d)", after.State, code)
	}
	step("start it again from its card",
		chromedp.Click("#panel-close"),
		chromedp.WaitNotVisible("#panel"),
		chromedp.Click(card+" .start"),
		chromedp.WaitVisible(card+`[data-state="warming"], `+card+`[data-state="live"]`),
	)
	if code := s.call(t, http.MethodGet, "/v1/sessions/"+id, nil, &after); code != http.StatusOK || !after.State.OnAir() {
		t.Fatalf("after Start in the console the session is %s (%d)", after.State, code)
	}
	shot("final")

	t.Logf("screenshots in %s (kept with go test -artifacts)", shots)

	// No errors in the browser console, but for failed requests while the
	// server was down, and one kind that is the fast clock's doing, not the
	// page's: playout runs unpaced, so the live HLS window rolls on faster
	// than a real-time player reads it and a segment the playlist listed can
	// be gone when hls.js asks for it (hls.js then skips ahead).
	mu.Lock()
	defer mu.Unlock()
	for i, m := range messages {
		if m.Type != chromedp.ConsoleError && !m.IsException() {
			continue
		}
		if m.Source == "network" && strings.Contains(m.URL, "/hls/seg-") && strings.Contains(m.Text, "404") {
			t.Logf("browser console (fast clock, allowed): %s (%s)", m, m.URL)
			continue
		}
		if i >= downFrom && i < downTo && !m.IsException() &&
			(m.Source == "network" || strings.Contains(m.Text, "ERR_CONNECTION_REFUSED") || strings.Contains(m.Text, "WebSocket connection")) {
			t.Logf("browser console (server down, allowed): %s (%s)", m, m.URL)
			continue
		}
		t.Errorf("browser console: %s (%s:%d)", m, m.URL, m.Line)
	}
}

// between returns the part of s after the first from, up to the next to
// (or the end, or the first space or comma when to is "").
func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if to != "" {
		if j := strings.Index(s, to); j >= 0 {
			return s[:j]
		}
		return s
	}
	if j := strings.IndexAny(s, " ,"); j >= 0 {
		return s[:j]
	}
	return s
}

// restartServe kills the server and starts it again on the same address
// and data directory, as an operator's restart would.
func restartServe(t *testing.T, s *server, dataDir string, extra ...string) {
	t.Helper()
	s.kill()
	cmd := exec.Command(testenv.Binary(t), append([]string{"serve"}, extra...)...)
	cmd.Env = append(cleanEnv(), "EVERCAST_DATA_DIR="+dataDir, "EVERCAST_HTTP_ADDR="+strings.TrimPrefix(s.base, "http://"),
		"EVERCAST_ADMIN_TOKEN="+s.token, "EVERCAST_LOG_LEVEL=info")
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd // the cleanup startServe registered kills this one now
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("serve did not come back:\n%s", tail(s.logs.String(), 4000))
}
