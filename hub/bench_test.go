package hub_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rubberduckhub/rubberduck/hub"
	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// TestMain doubles as the client-holder process of BenchmarkIdleConnections:
// the connections are opened from another process so that only the hub's
// side of each connection is counted in this one.
func TestMain(m *testing.M) {
	if spec := os.Getenv("RUBBERDUCK_BENCH_HOLD"); spec != "" {
		holdConnections(spec)
		return
	}
	os.Exit(m.Run())
}

func holdConnections(spec string) {
	parts := strings.SplitN(spec, " ", 3)
	n, _ := strconv.Atoi(parts[2])
	conns := make([]*websocket.Conn, 0, n)
	for range n {
		ws, _, err := websocket.DefaultDialer.Dial(parts[0], hubtest.Auth(parts[1]))
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		conns = append(conns, ws)
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // hold until the parent closes stdin
	for _, c := range conns {
		c.Close()
	}
}

// BenchmarkRoundTrip measures a no-op request (rubberduck/ping) from a
// client to the hub and back over loopback WebSocket.
func BenchmarkRoundTrip(b *testing.B) {
	h := hubtest.Start(b)
	c := h.Connect(b)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if err := c.Call(ctx, protocol.MethodPing, nil, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, lat, "µs", time.Microsecond)
}

func reportPercentiles(b *testing.B, lat []time.Duration, unit string, scale time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(float64(len(lat)-1)*p)]) / float64(scale)
	}
	b.ReportMetric(pct(0.50), "p50-"+unit)
	b.ReportMetric(pct(0.99), "p99-"+unit)
}

// BenchmarkIdleConnections opens 1,000 connections from a child process and
// reports the hub's memory per idle connection (goal: at most 64 KiB).
func BenchmarkIdleConnections(b *testing.B) {
	const n = 1000
	h := hubtest.Start(b)
	for b.Loop() {
		before := hubMemory()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("RUBBERDUCK_BENCH_HOLD=%s %s %d", h.LSPURL(), h.Token, n))
		stdin, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if strings.TrimSpace(line) != "ready" {
			b.Fatalf("client holder: %s", line)
		}
		waitConnections(b, h, n)
		after := hubMemory()
		stdin.Close()
		_ = cmd.Wait()
		b.ReportMetric(float64(after-before)/n/1024, "KiB/conn")
	}
}

// hubMemory is the heap and goroutine stacks in use after a full GC: what
// live connections actually hold, unlike RSS, which the runtime does not
// give back promptly.
func hubMemory() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
}

func waitConnections(b *testing.B, h *hubtest.Hub, n int) {
	deadline := time.Now().Add(30 * time.Second)
	want := fmt.Sprintf("rubberduck_connections %d", n)
	for time.Now().Before(deadline) {
		resp, err := http.Get(h.URL() + "/metrics")
		if err == nil {
			var body strings.Builder
			_, _ = bufio.NewReader(resp.Body).WriteTo(&body)
			resp.Body.Close()
			if strings.Contains(body.String(), want+"\n") {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("hub never reached %d connections", n)
}

// BenchmarkStartup measures a first start on an empty data directory until
// /readyz answers 200 (goal: under 300 ms).
func BenchmarkStartup(b *testing.B) {
	for b.Loop() {
		dir := b.TempDir()
		proj := filepath.Join(dir, "p")
		_ = os.Mkdir(proj, 0o755)
		t0 := time.Now()
		srv, _, err := hub.Open(context.Background(), hub.Config{
			Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"),
			Projects: []hub.ProjectSpec{{Name: "p", Path: proj}},
		})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Serve() }()
		for {
			resp, err := http.Get(srv.URL() + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
		b.ReportMetric(float64(time.Since(t0).Microseconds())/1000, "ms-to-ready")
		_ = srv.Shutdown(context.Background())
		<-done
	}
}
