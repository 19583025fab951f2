package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"bytes"

	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/llmtest"
	"github.com/evercast/evercast/internal/testenv"
)

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}

// BenchmarkCommentToAir measures, on the real clock, the time from a viewer
// comment's arrival to the first frame of its reply on air, the wait for a
// clip boundary included, with a local OpenAI-compatible model whose first
// token comes after 300 ms and the rest at 30 tokens a second. It reports
// p50 and p95 and the median of each stage.
func BenchmarkCommentToAir(b *testing.B) {
	n := 20
	if v := os.Getenv("EVERCAST_LATENCY_COMMENTS"); v != "" {
		fmt.Sscan(v, &n)
	}
	llm := llmtest.New()
	defer llm.Close()
	llm.FirstToken = 300 * time.Millisecond
	llm.TokensPerSecond = 30
	// Distinct questions (the same question twice within two minutes is
	// answered once), each with a true answer from the demo catalog.
	qa := [][2]string{
		{"龙井茶多少钱？", "西湖龙井绿茶直播间活动价138元。喜欢的朋友可以点击下方购物车。"},
		{"蜂蜜产地是哪里", "洋槐蜂蜜产自陕西延安。口感清甜，适合冲水。"},
		{"丝巾是什么材质？", "这款丝巾的材质是桑蚕丝。手感柔滑轻盈。"},
		{"龙井还有货吗", "西湖龙井绿茶目前库存240件。需要的朋友点购物车。"},
		{"蜂蜜多少钱", "洋槐蜂蜜直播间活动价49.9元。喜欢的朋友点击购物车。"},
		{"丝巾尺寸多大？", "丝巾的规格是90厘米乘90厘米。适合春秋搭配外套。"},
		{"龙井产地在哪", "西湖龙井绿茶产自浙江杭州。春季采摘的嫩芽。"},
		{"丝巾多少钱？", "桑蚕丝印花丝巾的价格是299元。需要的朋友点购物车下单。"},
		{"蜂蜜还有库存吗", "洋槐蜂蜜目前库存500件。喜欢的朋友点击购物车。"},
		{"你是真人吗？", "我是AI生成的数字人主播。有问题随时问我。"},
		{"丝巾产地是哪里", "桑蚕丝印花丝巾产自江苏苏州。手感柔滑轻盈。"},
		{"蜂蜜净含量多少？", "洋槐蜂蜜的净含量是500克。保质期24个月。"},
	}
	llm.Reply = func(ms []llmtest.Message) string {
		u := ms[len(ms)-1].Content
		for _, x := range qa {
			if strings.Contains(u, x[0]) {
				return x[1]
			}
		}
		return "谢谢提问。我是AI生成的数字人主播。"
	}
	for i := 0; i < b.N; i++ {
		data := b.TempDir()
		token := "bench-token-0123456789abcdef"
		port := testenv.FreePort(b)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cmd := exec.Command(testenv.Binary(b), "serve")
		cmd.Env = append(cleanEnv(), "EVERCAST_DATA_DIR="+data, "EVERCAST_HTTP_ADDR="+addr, "EVERCAST_ADMIN_TOKEN="+token,
			"EVERCAST_LLM_BASE_URL="+llm.BaseURL(), "EVERCAST_LLM_MODEL=bench", "EVERCAST_LOG_LEVEL=warn")
		logs := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		s := &server{cmd: cmd, base: "http://" + addr, token: token, logs: logs}
		b.Cleanup(s.kill)
		waitHealthy(b, s)
		id := seedDemo(b, s)
		waitAired(b, s, id, 3, 3*time.Minute)
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n)*40*time.Second)
		cl, err := control.Dial(ctx, "ws"+strings.TrimPrefix(s.base, "http")+"/v1/ws/control", token, control.ClientOptions{Reconnect: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := cl.Subscribe(ctx, []string{id}, 0); err != nil {
			b.Fatal(err)
		}
		var lat []float64
		stages := map[string][]float64{}
		for q := 0; q < n; q++ {
			cid := fmt.Sprintf("q%d", q)
			text := qa[q%len(qa)][0]
			if code := s.call(b, "POST", "/v1/sessions/"+id+"/comments", map[string]any{"comments": []map[string]any{{"id": cid, "user": "v", "text": text}}}, nil); code != 202 {
				b.Fatalf("comment: %d", code)
			}
			deadline := time.After(30 * time.Second)
		wait:
			for {
				select {
				case e := <-cl.Events():
					if e.Name != control.EventReply {
						continue
					}
					var d control.ReplyData
					if e.DecodeData(&d) != nil || d.CommentID != cid || d.State != "aired" {
						continue
					}
					lat = append(lat, float64(d.LatencyMS))
					for k, v := range d.Stages {
						stages[k] = append(stages[k], float64(v))
					}
					break wait
				case <-deadline:
					b.Fatalf("reply to %s never aired:\n%s", cid, tail(logs.String(), 3000))
				}
			}
			// Space the questions as viewers do (and within the reply rate
			// limit): a new question every 10 s.
			time.Sleep(10 * time.Second)
		}
		cancel()
		cl.Close()
		s.kill()
		b.ReportMetric(percentile(lat, 0.5), "p50_ms")
		b.ReportMetric(percentile(lat, 0.95), "p95_ms")
		for _, k := range []string{"script", "speech", "render", "wait_boundary"} {
			b.ReportMetric(percentile(stages[k], 0.5), k+"_p50_ms")
		}
		b.Logf("latencies (ms): %v", lat)
	}
}

func waitHealthy(t testing.TB, s *server) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("serve did not come up:\n%s", tail(s.logs.String(), 3000))
}
