package httpclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/httpclient"
)

func TestBlocked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ip      string
		blocked bool
	}{
		{"127.0.0.1", true}, {"127.8.9.10", true}, {"10.1.2.3", true}, {"172.16.0.1", true}, {"172.31.255.255", true},
		{"192.168.1.1", true}, {"169.254.169.254", true}, {"169.254.1.1", true}, {"100.64.0.1", true}, {"100.127.255.254", true},
		{"0.0.0.0", true}, {"0.1.2.3", true}, {"224.0.0.1", true}, {"239.255.255.250", true}, {"255.255.255.255", true},
		{"240.0.0.1", true}, {"192.0.2.10", true}, {"198.18.0.1", true},
		{"::", true}, {"::1", true}, {"fe80::1", true}, {"fe80::1%eth0", true}, {"fc00::1", true}, {"fd00:ec2::254", true},
		{"ff02::1", true}, {"ff05::2", true}, {"2001:db8::1", true}, {"fec0::1", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:169.254.169.254", true}, {"::ffff:10.0.0.1", true}, {"::127.0.0.1", true}, {"::8.8.8.8", true},
		{"64:ff9b::a9fe:a9fe", true}, {"64:ff9b::7f00:1", true}, {"2002:7f00:0001::1", true}, {"2002:a9fe:a9fe::1", true}, {"2001:0:4136:e378::1", true},
		{"8.8.8.8", false}, {"1.1.1.1", false}, {"100.63.255.255", false}, {"100.128.0.0", false}, {"172.32.0.1", false}, {"169.253.1.1", false},
		{"2606:4700:4700::1111", false}, {"::ffff:8.8.8.8", false}, {"64:ff9b::808:808", false}, {"2002:808:808::1", false},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := httpclient.Blocked(ip); got != tt.blocked {
			t.Errorf("Blocked(%s) = %v, want %v", tt.ip, got, tt.blocked)
		}
	}
	if !httpclient.Blocked(netip.Addr{}) {
		t.Error("the zero address is not blocked")
	}
}

func TestParseAllowList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{" , ", nil, false},
		{"127.0.0.1", []string{"127.0.0.1/32"}, false},
		{"10.0.0.0/8, 192.168.1.7/16,::1", []string{"10.0.0.0/8", "192.168.0.0/16", "::1/128"}, false},
		{"10.0.0.0/33", nil, true},
		{"example.com", nil, true},
	}
	for _, tt := range tests {
		got, err := httpclient.ParseAllowList(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v", tt.in, err)
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if strings.Join(s, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%q = %v, want %v", tt.in, s, tt.want)
		}
	}
}

func server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(201)
		_, _ = io.WriteString(w, r.Method+" "+r.Header.Get("X-Token")+" "+r.Host+" "+string(b))
	})
	mux.HandleFunc("/size/", func(w http.ResponseWriter, r *http.Request) {
		n := 0
		for _, c := range strings.TrimPrefix(r.URL.Path, "/size/") {
			n = n*10 + int(c-'0')
		}
		if r.URL.Query().Get("chunked") != "" {
			w.(http.Flusher).Flush() // no Content-Length
		}
		_, _ = w.Write([]byte(strings.Repeat("x", n)))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

var loopback = netip.MustParsePrefix("127.0.0.1/32")

func TestClient(t *testing.T) {
	t.Parallel()
	srv := server(t)
	ctx := context.Background()
	allowed := httpclient.New(httpclient.WithAllow(loopback), httpclient.WithMaxBody(1000))
	tests := []struct {
		name    string
		c       *httpclient.Client
		req     engine.HTTPRequest
		status  int
		body    string
		wantErr error
		errText string
		// hidden must not appear in the error: the guard names no resolved address.
		hidden []string
	}{
		{name: "loopback blocked by default", c: httpclient.New(), req: engine.HTTPRequest{URL: srv.URL + "/echo"}, wantErr: httpclient.ErrBlocked},
		{name: "localhost name blocked", c: httpclient.New(), req: engine.HTTPRequest{URL: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/echo"}, wantErr: httpclient.ErrBlocked,
			hidden: []string{"127.0.0.1", "::1"}},
		{name: "metadata blocked", c: httpclient.New(), req: engine.HTTPRequest{URL: "http://169.254.169.254/latest/meta-data/"}, wantErr: httpclient.ErrBlocked},
		{name: "mapped metadata blocked", c: httpclient.New(), req: engine.HTTPRequest{URL: "http://[::ffff:169.254.169.254]/"}, wantErr: httpclient.ErrBlocked},
		{name: "allowed post with headers", c: allowed, req: engine.HTTPRequest{Method: "POST", URL: srv.URL + "/echo",
			Headers: []engine.HTTPHeader{{Name: "X-Token", Value: "abc"}, {Name: "Host", Value: "api.example"}}, Body: "hello"}, status: 201, body: "POST abc api.example hello"},
		{name: "default method get", c: allowed, req: engine.HTTPRequest{URL: srv.URL + "/echo"}, status: 201, body: "GET  " + strings.TrimPrefix(srv.URL, "http://") + " "},
		{name: "error status is a response", c: allowed, req: engine.HTTPRequest{URL: srv.URL + "/status"}, status: 503},
		{name: "body at the cap", c: allowed, req: engine.HTTPRequest{URL: srv.URL + "/size/1000"}, status: 200, body: strings.Repeat("x", 1000)},
		{name: "body over the cap", c: allowed, req: engine.HTTPRequest{URL: srv.URL + "/size/1001"}, wantErr: httpclient.ErrTooLarge},
		{name: "chunked body over the cap", c: allowed, req: engine.HTTPRequest{URL: srv.URL + "/size/5000?chunked=1"}, wantErr: httpclient.ErrTooLarge},
		{name: "timeout", c: allowed, req: engine.HTTPRequest{URL: srv.URL + "/slow", Timeout: 100 * time.Millisecond}, wantErr: context.DeadlineExceeded},
		{name: "redirect to loopback outside the allow-list", c: allowed, req: engine.HTTPRequest{URL: srv.URL + "/redirect?to=" + strings.Replace(srv.URL, "127.0.0.1", "127.0.0.2", 1) + "/echo"}, wantErr: httpclient.ErrBlocked},
		{name: "redirect to metadata", c: allowed, req: engine.HTTPRequest{URL: srv.URL + "/redirect?to=http://169.254.169.254/"}, wantErr: httpclient.ErrBlocked},
		{name: "redirect to file", c: allowed, req: engine.HTTPRequest{URL: srv.URL + "/redirect?to=file:///etc/passwd"}, errText: "not allowed"},
		{name: "allowed redirect", c: allowed, req: engine.HTTPRequest{URL: srv.URL + "/redirect?to=/size/3"}, status: 200, body: "xxx"},
		{name: "file URL", c: allowed, req: engine.HTTPRequest{URL: "file:///etc/passwd"}, errText: "only http and https"},
		{name: "no host", c: allowed, req: engine.HTTPRequest{URL: "http:///x"}, errText: "only http and https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := tt.c.Do(ctx, tt.req)
			switch {
			case tt.wantErr != nil || tt.errText != "":
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %v %q", err, tt.wantErr, tt.errText)
				}
				for _, h := range tt.hidden {
					if strings.Contains(err.Error(), h) {
						t.Errorf("err %q names the resolved address %s", err, h)
					}
				}
			case err != nil:
				t.Fatal(err)
			case resp.Status != tt.status || (tt.body != "" && string(resp.Body) != tt.body):
				t.Errorf("got %d %q, want %d %q", resp.Status, resp.Body, tt.status, tt.body)
			}
		})
	}
}

// TestEngineUsesClient runs an http_request node through the real client.
func TestEngineUsesClient(t *testing.T) {
	t.Parallel()
	srv := server(t)
	var doer engine.HTTPDoer = httpclient.New(httpclient.WithAllow(loopback))
	resp, err := doer.Do(context.Background(), engine.HTTPRequest{Method: "PUT", URL: srv.URL + "/echo", Body: "{}"})
	if err != nil || resp.Status != 201 || string(resp.Body) != "PUT  "+strings.TrimPrefix(srv.URL, "http://")+" {}" {
		t.Fatalf("%v %d %q", err, resp.Status, resp.Body)
	}
}

func TestGuardAllowances(t *testing.T) {
	t.Parallel()
	g := httpclient.NewGuard(netip.MustParsePrefix("10.1.0.0/16"))
	g.AllowAddr(netip.MustParseAddrPort("127.0.0.1:8080"))
	for _, tc := range []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1:8080", false},          // exactly the allowed address and port
		{"127.0.0.1:8081", true},           // another port of it
		{"[::ffff:127.0.0.1]:8080", false}, // its mapped form
		{"10.1.2.3:443", false},            // in an allowed prefix
		{"10.2.0.1:443", true},
		{"8.8.8.8:443", false},
	} {
		if err := g.Check(netip.MustParseAddrPort(tc.addr)); (err != nil) != tc.blocked {
			t.Errorf("%s: %v, want blocked %v", tc.addr, err, tc.blocked)
		}
	}
	for _, tc := range []struct {
		url     string
		blocked bool
	}{
		{"http://127.0.0.1:8080/v1", false},
		{"http://127.0.0.1/v1", true},
		{"https://[::1]/", true},
		{"http://localhost:9/", true},
	} {
		u, _ := url.Parse(tc.url)
		err := g.CheckURL(context.Background(), u)
		if errors.Is(err, httpclient.ErrBlocked) != tc.blocked {
			t.Errorf("%s: %v, want blocked %v", tc.url, err, tc.blocked)
		}
		if err != nil && strings.Contains(err.Error(), "127.0.0.1") && !strings.Contains(tc.url, "127.0.0.1") {
			t.Errorf("%s: the error echoes the resolved address: %v", tc.url, err)
		}
	}
}
