package api

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/evercast/evercast"
)

// TestConsoleInBrowser drives the embedded console in headless Chromium
// against the API: sign in with a token, see the session grid fill from the
// API, start a session, play a live preview through hls.js (which must send
// the token on every playlist and segment request), sign out.
func TestConsoleInBrowser(t *testing.T) {
	chrome := findChromium(t)
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg is needed to make the preview stream: apt-get install ffmpeg")
	}
	e := newEnv(t)
	_, key := e.merchant("Tea House")
	_, _, live := e.catalog(key)
	e.must(200, req{method: "POST", path: "/v1/sessions/" + live.ID + "/start", token: key}, nil)
	var idle evercast.Session
	body := sessionBody(live.AnchorID, live.ProductIDs...)
	body["title"] = "Night shift"
	e.must(201, req{method: "POST", path: "/v1/sessions", token: key, body: body}, &idle)

	// A short HLS stream in the live session's preview directory.
	dir := filepath.Join(e.hlsDir, live.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "50",
		"-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
		"-hls_segment_filename", filepath.Join(dir, "seg_%05d.ts"), filepath.Join(dir, "index.m3u8")).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	// text reads an element's text, failing the test when it cannot.
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}

	err = chromedp.Do(bctx,
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible("#token"),
		chromedp.SendKeys("#token", key),
		chromedp.Click(`#sign-in-form button[type="submit"]`),
		chromedp.WaitVisible(`.card[data-state="live"]`),
		chromedp.WaitVisible(`.card[data-state="scheduled"]`),
	)
	if err != nil {
		t.Fatalf("sign in and list: %v", err)
	}
	cards, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('.card').length`))
	if err != nil || cards != 2 {
		t.Errorf("%d cards (%v), want 2", cards, err)
	}
	liveText := text(`.card[data-state="live"]`)
	for _, want := range []string{"龙井专场", "今天给大家介绍明前龙井。", "现在下单立减十元。", "douyin: unknown"} {
		if !strings.Contains(liveText, want) {
			t.Errorf("live card lacks %q:\n%s", want, liveText)
		}
	}
	gauge, idleState, who := text(`.card[data-state="live"] .gauge-value`), text(`.card[data-state="scheduled"] .state`), text("#who-name")
	if gauge != "42.5 s / 60 s" || !strings.EqualFold(idleState, "scheduled") || who != "Merchant key" {
		t.Errorf("gauge %q, idle state %q, who %q", gauge, idleState, who)
	}

	// Start the idle session from its card; the grid follows the API.
	err = chromedp.Do(bctx,
		chromedp.Click(`.card[data-state="scheduled"] .start`),
		chromedp.WaitNotPresent(`.card[data-state="scheduled"]`),
	)
	if err != nil {
		t.Fatalf("start from the console: %v", err)
	}
	var got evercast.Session
	e.must(200, req{method: "GET", path: "/v1/sessions/" + idle.ID, token: key}, &got)
	if got.State != evercast.SessionLive {
		t.Errorf("after Start in the console the session is %s", got.State)
	}

	// Preview: hls.js fetches playlist and segments with the token and plays.
	err = chromedp.Do(bctx,
		chromedp.Click(fmt.Sprintf(`.card[data-title="%s"] .preview`, "龙井专场")),
		chromedp.WaitVisible("#player"),
	)
	if err == nil {
		_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById('video').currentTime > 0.5`,
			chromedp.WithPollingTimeout(30*time.Second)))
	}
	if err != nil {
		note, _ := chromedp.Run(bctx, chromedp.Text("#player-note"))
		t.Fatalf("preview did not play: %v (player says %q)", err, note)
	}
	if path := os.Getenv("EVERCAST_CONSOLE_SCREENSHOT"); path != "" {
		if png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot()); err == nil {
			_ = os.WriteFile(path, png, 0o644)
		}
	}

	// Sign out: the token is gone from the browser.
	err = chromedp.Do(bctx, chromedp.Click("#sign-out"), chromedp.WaitVisible("#sign-in"))
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
	stored, err := chromedp.Run(bctx, chromedp.Evaluate[string](`localStorage.getItem('evercast.token') || ''`))
	if err != nil || stored != "" {
		t.Errorf("after sign-out localStorage holds %q (%v)", stored, err)
	}
}

func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is needed to test the console: apt-get install chromium")
	return ""
}
