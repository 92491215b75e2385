package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// NodeREDVersion is the peer measured in the exchange phase.
const NodeREDVersion = "4.1.8"

// nodeRED is a headless Node-RED running the benchmark's flow on loopback.
type nodeRED struct {
	dir     string // userDir: settings, flow, log
	install string // holds node_modules/node-red
	cmd     *exec.Cmd
	done    chan error
	url     string
	log     string
}

// installNodeRED installs node-red@NodeREDVersion with npm into a new
// temporary directory (or reuses dir when it already holds it). The caller
// removes the returned directory when it made it (made is true).
func installNodeRED(ctx context.Context, dir string) (path string, made bool, err error) {
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "node-red", "red.js")); err == nil {
			return dir, false, nil
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", false, errors.New("node is not installed")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", false, errors.New("npm is not installed")
	}
	made = dir == ""
	if made {
		if dir, err = os.MkdirTemp("", "parley-bench-nodered-"); err != nil {
			return "", false, err
		}
	}
	ictx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ictx, npm, "install", "--prefix", dir, "node-red@"+NodeREDVersion, "--no-audit", "--no-fund", "--loglevel=error")
	if out, err := cmd.CombinedOutput(); err != nil {
		if made {
			_ = os.RemoveAll(dir)
		}
		return "", false, fmt.Errorf("npm install node-red@%s: %v: %s", NodeREDVersion, err, lastLines(string(out), 5))
	}
	return dir, made, nil
}

// nodeREDFlow is the peer's flow, written for this benchmark: http in
// (raw body kept) → function (verify X-Hub-Signature-256 with crypto in
// constant time, parse the JSON, build the reply) → http request to the
// fake's messages endpoint (keep-alive) → function (clear the Graph API's
// answer) → http response 200. A bad signature goes straight to the
// response with 401.
func nodeREDFlow(messagesURL string) ([]byte, error) {
	verify := fmt.Sprintf(`const secret = %q;
const raw = Buffer.isBuffer(msg.payload) ? msg.payload : Buffer.from(String(msg.payload || ""));
const got = Buffer.from(String(msg.req.headers["x-hub-signature-256"] || ""));
const want = Buffer.from("sha256=" + crypto.createHmac("sha256", secret).update(raw).digest("hex"));
if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) {
    msg.statusCode = 401;
    msg.payload = "bad signature";
    return [null, msg];
}
let body;
try {
    body = JSON.parse(raw.toString("utf8"));
} catch (e) {
    msg.statusCode = 400;
    msg.payload = "bad body";
    return [null, msg];
}
const value = (((((body.entry || [])[0] || {}).changes || [])[0]) || {}).value || {};
const m = (value.messages || [])[0];
if (!m || m.type !== "text") {
    msg.statusCode = 200;
    msg.payload = "";
    return [null, msg];
}
const name = (((value.contacts || [])[0] || {}).profile || {}).name || "";
msg.headers = {"Authorization": "Bearer %s", "Content-Type": "application/json"};
msg.payload = {messaging_product: "whatsapp", recipient_type: "individual", to: m.from, type: "text",
    text: {body: "Hello " + name + ", thanks for writing!"}};
return [msg, null];`, appSecret, accessToken)
	ack := `msg.statusCode = msg.statusCode === 200 ? 200 : 502;
msg.headers = {};
msg.payload = "";
return msg;`
	nodes := []map[string]any{
		{"id": "bench.tab", "type": "tab", "label": "WhatsApp exchange"},
		{"id": "bench.in", "type": "http in", "z": "bench.tab", "name": "webhook", "url": "/webhook", "method": "post",
			"upload": false, "skipBodyParsing": true, "swaggerDoc": "", "wires": []any{[]string{"bench.verify"}}},
		{"id": "bench.verify", "type": "function", "z": "bench.tab", "name": "verify, parse, reply", "func": verify,
			"outputs": 2, "timeout": 0, "noerr": 0, "initialize": "", "finalize": "",
			"libs":  []map[string]string{{"var": "crypto", "module": "crypto"}},
			"wires": []any{[]string{"bench.send"}, []string{"bench.out"}}},
		{"id": "bench.send", "type": "http request", "z": "bench.tab", "name": "Graph API messages", "method": "POST",
			"ret": "txt", "paytoqs": "ignore", "url": messagesURL, "tls": "", "persist": true, "proxy": "", "insecureHTTPParser": false,
			"authType": "", "senderr": false, "headers": []any{}, "wires": []any{[]string{"bench.ack"}}},
		{"id": "bench.ack", "type": "function", "z": "bench.tab", "name": "ack", "func": ack, "outputs": 1,
			"timeout": 0, "noerr": 0, "initialize": "", "finalize": "", "libs": []any{}, "wires": []any{[]string{"bench.out"}}},
		{"id": "bench.out", "type": "http response", "z": "bench.tab", "name": "answer", "statusCode": "", "headers": map[string]any{},
			"wires": []any{}},
	}
	return json.MarshalIndent(nodes, "", " ")
}

// startNodeRED writes the settings and flow into a new userDir and starts
// Node-RED headless (no editor, no admin API) on a free loopback port,
// then waits until the flow answers.
func startNodeRED(ctx context.Context, install, messagesURL string) (*nodeRED, error) {
	dir, err := os.MkdirTemp("", "parley-bench-nodered-user-")
	if err != nil {
		return nil, err
	}
	n := &nodeRED{dir: dir, install: install, log: filepath.Join(dir, "node-red.log")}
	port, err := freePort()
	if err != nil {
		n.cleanup()
		return nil, err
	}
	flow, err := nodeREDFlow(messagesURL)
	if err != nil {
		n.cleanup()
		return nil, err
	}
	settings := fmt.Sprintf(`module.exports = {
    uiHost: "127.0.0.1",
    uiPort: %d,
    flowFile: "flows.json",
    credentialSecret: false,
    httpAdminRoot: false,
    functionExternalModules: true,
    externalModules: { autoInstall: false },
    logging: { console: { level: "warn", metrics: false, audit: false } },
};
`, port)
	if err := os.WriteFile(filepath.Join(dir, "settings.js"), []byte(settings), 0o600); err != nil {
		n.cleanup()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "flows.json"), flow, 0o600); err != nil {
		n.cleanup()
		return nil, err
	}
	logf, err := os.Create(n.log)
	if err != nil {
		n.cleanup()
		return nil, err
	}
	n.cmd = exec.Command("node", filepath.Join(install, "node_modules", "node-red", "red.js"),
		"--settings", filepath.Join(dir, "settings.js"), "--userDir", dir)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	n.cmd.Env = append(os.Environ(), "NODE_ENV=production")
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		n.cleanup()
		return nil, err
	}
	n.done = make(chan error, 1)
	go func() { n.done <- n.cmd.Wait(); logf.Close() }()
	n.url = fmt.Sprintf("http://127.0.0.1:%d/webhook", port)
	return n, nil
}

// ready waits until a signed inbound gets 200 (Node-RED has started and
// deployed the flow), bounded by limit.
func (n *nodeRED) ready(ctx context.Context, hc *http.Client, g *graph, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for i := 0; ; i++ {
		select {
		case err := <-n.done:
			n.done <- err
			return fmt.Errorf("node-red exited: %v: %s", err, n.tail())
		default:
		}
		to := customer(7, 999, i)
		wait := g.expect(to)
		err := postSigned(ctx, hc, n.url, inboundBody(phoneNumberID, to, "Ready", fmt.Sprintf("wamid.NRREADY%d", i), "hi"))
		if err == nil {
			select {
			case <-wait:
				return nil
			case <-time.After(5 * time.Second):
				g.forget(to)
				return fmt.Errorf("node-red answered but the fake got no reply: %s", n.tail())
			}
		}
		g.forget(to)
		if time.Now().After(deadline) {
			return fmt.Errorf("node-red did not answer within %s: %v: %s", limit, err, n.tail())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stop ends the Node-RED process group (SIGTERM, then SIGKILL) and
// removes its userDir.
func (n *nodeRED) stop() {
	if n.cmd != nil && n.cmd.Process != nil {
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
			<-n.done
		}
	}
	n.cleanup()
}

func (n *nodeRED) cleanup() { _ = os.RemoveAll(n.dir) }

func (n *nodeRED) tail() string {
	b, _ := os.ReadFile(n.log)
	return lastLines(string(b), 10)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
