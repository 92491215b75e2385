package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveSandbox runs `serve --sandbox` in-process on a free port with the
// environment env; it returns what serve prints and the channel its end
// is sent on (ctx's end stops it).
func serveSandbox(ctx context.Context, env map[string]string) (out, errb *syncBuffer, done chan error) {
	out, errb = &syncBuffer{}, &syncBuffer{}
	root := newRoot(out, errb, func(k string) string { return env[k] })
	root.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--sandbox"})
	done = make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	return out, errb, done
}

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run runs one parley command in-process on the SQLite database in dir.
func run(t *testing.T, ctx context.Context, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb syncBuffer
	env := map[string]string{"PARLEY_DATA_DIR": dir, "PARLEY_LOG_LEVEL": "warn"}
	root := newRoot(&out, &errb, func(k string) string { return env[k] })
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

var (
	uuidLine  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\n$`)
	tokenLine = regexp.MustCompile(`^prl_[A-Za-z0-9_-]{43}\n$`)
)

func TestAdminCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()

	out, _, err := run(t, ctx, dir, "project", "create", "--name", "Acme")
	if err != nil || !uuidLine.MatchString(out) {
		t.Fatalf("project create printed %q (%v); want only the project ID", out, err)
	}
	projectID := strings.TrimSpace(out)

	// token create prints ONLY the token, so $(parley token create …) works.
	out, _, err = run(t, ctx, dir, "token", "create", "--project", "acme", "--name", "ci")
	if err != nil || !tokenLine.MatchString(out) {
		t.Fatalf("token create printed %q (%v); want only the token", out, err)
	}
	out, _, err = run(t, ctx, dir, "token", "create", "--project", projectID, "--name", "by id", "--role", "viewer")
	if err != nil || !tokenLine.MatchString(out) {
		t.Fatalf("token create by ID printed %q (%v)", out, err)
	}

	out, _, err = run(t, ctx, dir, "token", "list", "--project", "Acme")
	if err != nil || !strings.Contains(out, "ci") || !strings.Contains(out, "viewer") || strings.Count(out, "\n") != 3 {
		t.Fatalf("token list = %q (%v)", out, err)
	}
	tokenID := strings.Fields(strings.Split(out, "\n")[1])[0]
	out, _, err = run(t, ctx, dir, "token", "revoke", "--project", "Acme", tokenID)
	if err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("token revoke = %q (%v)", out, err)
	}

	out, _, err = run(t, ctx, dir, "user", "create", "--email", "ann@example.com", "--password", "correct-horse", "--project", "Acme", "--role", "editor")
	if err != nil || !strings.Contains(out, "ann@example.com") {
		t.Fatalf("user create = %q (%v)", out, err)
	}
	out, _, err = run(t, ctx, dir, "user", "create", "--email", "bob@example.com")
	if err != nil || !strings.Contains(out, "password: ") {
		t.Fatalf("user create without password should print a generated one: %q (%v)", out, err)
	}

	out, _, err = run(t, ctx, dir, "project", "list")
	if err != nil || !strings.Contains(out, "Acme") || !strings.Contains(out, "provisioning") {
		t.Fatalf("project list = %q (%v)", out, err)
	}
	if out, _, err = run(t, ctx, dir, "migrate"); err != nil || !strings.Contains(out, "applied") {
		t.Fatalf("migrate = %q (%v)", out, err)
	}
	if out, _, err = run(t, ctx, dir, "version"); err != nil || !strings.HasPrefix(out, "parley ") {
		t.Fatalf("version = %q (%v)", out, err)
	}

	// Errors say what is wrong.
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"token", "create", "--project", "nope", "--name", "x"}, `project "nope" not found`},
		{[]string{"token", "create", "--project", "Acme"}, `"name" not set`},
		{[]string{"user", "create", "--email", "not-an-email", "--password", "0123456789"}, "not an email address"},
		{[]string{"user", "create", "--email", "c@example.com", "--password", "short"}, "at least 10"},
		{[]string{"project", "create", "--name", "ACME"}, "already exists"},
		{[]string{"serve", "--database-url", "mysql://x"}, "DATABASE_URL must start with postgres://"},
	}
	for _, b := range bad {
		_, _, err := run(t, ctx, dir, b.args...)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("parley %s: error %v, want it to mention %q", strings.Join(b.args, " "), err, b.want)
		}
	}
}

func TestUnreachableDatabaseIsOneLine(t *testing.T) {
	t.Parallel()
	_, _, err := run(t, context.Background(), t.TempDir(), "migrate", "--database-url", "postgres://postgres@127.0.0.1:1/parley?connect_timeout=2")
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "connecting to PostgreSQL at 127.0.0.1:1") {
		t.Fatalf("error = %v; want one line naming the server", err)
	}
}

// TestServeFirstStart runs `parley serve` in-process: it creates the data
// directory, prints the admin login once, answers, and stops cleanly.
func TestServeFirstStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() + "/data"
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	env := map[string]string{"PARLEY_DATA_DIR": dir, "PARLEY_LOG_LEVEL": "warn"}
	root := newRoot(&out, &errb, func(k string) string { return env[k] })
	root.SetArgs([]string{"serve", "--addr", "127.0.0.1:0"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s %s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pw := regexp.MustCompile(`log in as admin@parley\.local with password (\S+)`).FindStringSubmatch(out.String())
	if pw == nil {
		t.Fatalf("no admin login printed: %s", out.String())
	}
	if !strings.Contains(errb.String(), "secret key") {
		t.Errorf("no warning about the generated secret key: %s", errb.String())
	}
	res, err := http.Post(base+"/auth/login", "application/json", strings.NewReader(`{"email":"admin@parley.local","password":"`+pw[1]+`"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("login with the printed password: %v %v", err, res)
	}
	res.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after Ctrl-C", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}

	// A second start keeps the admin and prints no new password.
	out2, _, err := run(t, context.Background(), dir, "project", "list")
	if err != nil || !strings.Contains(out2, "Default") {
		t.Fatalf("after restart, project list = %q (%v)", out2, err)
	}
}

// TestSandboxNewcomerPath: `serve --sandbox`, then `sandbox send` as a
// customer, and the flow's answer appears in the conversation, read.
func TestSandboxNewcomerPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() + "/data"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := map[string]string{"PARLEY_DATA_DIR": dir, "PARLEY_LOG_LEVEL": "warn", "PARLEY_JOB_POLL_INTERVAL": "20ms"}
	out, errb, done := serveSandbox(ctx, env)
	send := regexp.MustCompile(`go run ./cmd/parley sandbox send --server (\S+) --to-channel (\S+) --from 15551234567 --text (\S+)`)
	chat := regexp.MustCompile(`go run ./cmd/parley sandbox chat --server (\S+) --to-channel (\S+)`)
	var m []string
	for deadline := time.Now().Add(30 * time.Second); m == nil; time.Sleep(20 * time.Millisecond) {
		m = send.FindStringSubmatch(out.String())
		if time.Now().After(deadline) {
			t.Fatalf("serve --sandbox printed no sandbox command: %s %s", out.String(), errb.String())
		}
	}
	base, channelID := m[1], m[2]
	if !strings.Contains(out.String(), `say "book" to start it`) || chat.FindStringSubmatch(out.String()) == nil {
		t.Fatalf("serve --sandbox did not print the keyword and the chat command: %s", out.String())
	}

	// The customer's side runs from elsewhere: it talks to the server and
	// opens no database of its own (no data directory appears).
	elsewhere := t.TempDir() + "/data"
	customer := func(stdin string, args ...string) string {
		t.Helper()
		var o, e syncBuffer
		env := map[string]string{"PARLEY_DATA_DIR": elsewhere}
		root := newRoot(&o, &e, func(k string) string { return env[k] })
		root.SetIn(strings.NewReader(stdin))
		root.SetArgs(args)
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, o.String())
		}
		return o.String()
	}
	sent := customer("", "sandbox", "send", "--server", base, "--to-channel", channelID, "--from", "15551234567", "--text", m[3])
	for _, want := range []string{"you (15551234567): book", "bot: Hi Sandbox Customer! Would you like to book an appointment?", "1. Book now", "2. Talk to a human",
		`answer with: parley sandbox send --server ` + base + ` --to-channel ` + channelID + ` --from 15551234567 --button "Book now"`} {
		if !strings.Contains(sent, want) {
			t.Fatalf("sandbox send printed\n%s\nwant %q", sent, want)
		}
	}
	if _, err := os.Stat(elsewhere); !os.IsNotExist(err) {
		t.Fatalf("sandbox send created %s (%v): it must not open a database", elsewhere, err)
	}
	sent = customer("", "sandbox", "send", "--server", base, "--to-channel", channelID, "--button", "Book now")
	if !strings.Contains(sent, "you (15551234567): [button] Book now") || !strings.Contains(sent, "Which service") || !strings.Contains(sent, "1. Haircut") {
		t.Fatalf("tapping Book now printed\n%s", sent)
	}

	// A wrong channel says which exist.
	var o, e syncBuffer
	wrong := newRoot(&o, &e, func(k string) string { return map[string]string{"PARLEY_URL": base}[k] })
	wrong.SetArgs([]string{"sandbox", "send", "--to-channel", "nope", "--text", "hi"})
	if err := wrong.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), channelID) || !strings.Contains(err.Error(), "Sandbox WhatsApp") {
		t.Fatalf("a wrong channel: %v; want the sandbox channels named", err)
	}

	// chat keeps the conversation going: a number taps the numbered button.
	talk := customer("book\n1\n2\n", "sandbox", "chat", "--server", base, "--from", "15557654321")
	t.Logf("sandbox chat:\n%s", talk)
	for _, want := range []string{"Would you like to book an appointment?", "you: [button] Book now", "Which service", "you: [button] Coloring"} {
		if !strings.Contains(talk, want) {
			t.Fatalf("sandbox chat printed\n%s\nwant %q", talk, want)
		}
	}
	// The web chat: serve prints its test page and the visitor command;
	// the visitor talks through the widget's endpoints, and a second send
	// continues the same conversation (the token is kept per --from).
	webLine := regexp.MustCompile(`sandbox send --server (\S+) --channel-type webchat --from visitor1 --text book`)
	if webLine.FindStringSubmatch(out.String()) == nil || !regexp.MustCompile(`open its test page http://\S+/webchat/\S+/test`).MatchString(out.String()) {
		t.Fatalf("serve --sandbox did not print the web chat's test page and command: %s", out.String())
	}
	cache := t.TempDir()
	visitor := func(args ...string) string {
		t.Helper()
		var o, e syncBuffer
		env := map[string]string{"XDG_CACHE_HOME": cache}
		root := newRoot(&o, &e, func(k string) string { return env[k] })
		root.SetArgs(append([]string{"sandbox", "send", "--server", base, "--channel-type", "webchat", "--from", "visitor1"}, args...))
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, o.String())
		}
		return o.String()
	}
	said := visitor("--text", "book")
	if !strings.Contains(said, "you (web visitor visitor1): book") || !strings.Contains(said, "Would you like to book an appointment?") || !strings.Contains(said, `--button "Book now"`) {
		t.Fatalf("the web visitor's send printed\n%s", said)
	}
	if said = visitor("--button", "Book now"); !strings.Contains(said, "Which service") {
		t.Fatalf("the web visitor's tap printed\n%s", said)
	}
	// The web chat is not written to through the sandbox's fake: the
	// error says how.
	chans := regexp.MustCompile(`web chat channel "Sandbox Web chat" \((\S+)\)`).FindStringSubmatch(out.String())
	if chans == nil {
		t.Fatalf("no web chat channel printed: %s", out.String())
	}
	var o2, e2 syncBuffer
	viaFake := newRoot(&o2, &e2, func(k string) string { return map[string]string{"PARLEY_URL": base}[k] })
	viaFake.SetArgs([]string{"sandbox", "send", "--to-channel", chans[1], "--text", "hi"})
	if err := viaFake.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "--channel-type webchat") {
		t.Fatalf("sending to the web chat through the fake: %v; want how to reach it", err)
	}

	token, _, err := run(t, context.Background(), dir, "token", "create", "--project", "Default", "--name", "t")
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) map[string]any {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(res.Body).Decode(&v)
		return v
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		contacts := get("/contacts/?search=15551234567")["results"].([]any)
		if len(contacts) == 1 {
			msgs := get("/conversations/" + contacts[0].(map[string]any)["id"].(string) + "/messages/")["results"].([]any)
			if len(msgs) == 4 && msgs[0].(map[string]any)["status"] == "read" && strings.Contains(msgs[0].(map[string]any)["text"].(string), "Which service") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flow's answer never reached the conversation, read")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSandboxFormAnswers: a WhatsApp Flow made from a template and sent by
// a chat flow shows its screens in `sandbox send`, and --form-answers
// completes it as the customer (the nfm_reply Meta would send); the chat
// flow continues with the answers.
func TestSandboxFormAnswers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() + "/data"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := map[string]string{"PARLEY_DATA_DIR": dir, "PARLEY_LOG_LEVEL": "warn", "PARLEY_JOB_POLL_INTERVAL": "20ms"}
	out, errb, done := serveSandbox(ctx, env)
	send := regexp.MustCompile(`go run ./cmd/parley sandbox send --server (\S+) --to-channel (\S+) --from`)
	var m []string
	for deadline := time.Now().Add(30 * time.Second); m == nil; time.Sleep(20 * time.Millisecond) {
		m = send.FindStringSubmatch(out.String())
		if time.Now().After(deadline) {
			t.Fatalf("serve --sandbox printed no sandbox command: %s %s", out.String(), errb.String())
		}
	}
	base, channelID := m[1], m[2]
	// The web chat: serve prints its test page and the visitor command;
	// the visitor talks through the widget's endpoints, and a second send
	// continues the same conversation (the token is kept per --from).
	webLine := regexp.MustCompile(`sandbox send --server (\S+) --channel-type webchat --from visitor1 --text book`)
	if webLine.FindStringSubmatch(out.String()) == nil || !regexp.MustCompile(`open its test page http://\S+/webchat/\S+/test`).MatchString(out.String()) {
		t.Fatalf("serve --sandbox did not print the web chat's test page and command: %s", out.String())
	}
	cache := t.TempDir()
	visitor := func(args ...string) string {
		t.Helper()
		var o, e syncBuffer
		env := map[string]string{"XDG_CACHE_HOME": cache}
		root := newRoot(&o, &e, func(k string) string { return env[k] })
		root.SetArgs(append([]string{"sandbox", "send", "--server", base, "--channel-type", "webchat", "--from", "visitor1"}, args...))
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, o.String())
		}
		return o.String()
	}
	said := visitor("--text", "book")
	if !strings.Contains(said, "you (web visitor visitor1): book") || !strings.Contains(said, "Would you like to book an appointment?") || !strings.Contains(said, `--button "Book now"`) {
		t.Fatalf("the web visitor's send printed\n%s", said)
	}
	if said = visitor("--button", "Book now"); !strings.Contains(said, "Which service") {
		t.Fatalf("the web visitor's tap printed\n%s", said)
	}
	// The web chat is not written to through the sandbox's fake: the
	// error says how.
	chans := regexp.MustCompile(`web chat channel "Sandbox Web chat" \((\S+)\)`).FindStringSubmatch(out.String())
	if chans == nil {
		t.Fatalf("no web chat channel printed: %s", out.String())
	}
	var o2, e2 syncBuffer
	viaFake := newRoot(&o2, &e2, func(k string) string { return map[string]string{"PARLEY_URL": base}[k] })
	viaFake.SetArgs([]string{"sandbox", "send", "--to-channel", chans[1], "--text", "hi"})
	if err := viaFake.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "--channel-type webchat") {
		t.Fatalf("sending to the web chat through the fake: %v; want how to reach it", err)
	}

	token, _, err := run(t, context.Background(), dir, "token", "create", "--project", "Default", "--name", "t")
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(res.Body).Decode(&v)
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, v)
		}
		return v
	}
	wf := call("POST", "/whatsapp-flows/", map[string]any{"template": "appointment_booking", "channel_id": channelID})
	call("POST", "/whatsapp-flows/"+wf["id"].(string)+"/publish/", nil)
	graph := `{"nodes":[
	 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["form"]}}},
	 {"id":"form","type":"whatsapp_flow","position":{"x":0,"y":100},"data":{"whatsapp_flow_id":"` + wf["id"].(string) + `","body":"Pick a time","cta":"Book now","variable":"booking"}},
	 {"id":"done","type":"end","position":{"x":0,"y":200},"data":{"text":"Booked {{ booking.service }} on {{ booking.date }}"}}],
	 "edges":[{"id":"e1","source":"start","target":"form"},{"id":"e2","source":"form","sourceHandle":"completed","target":"done"}]}`
	call("POST", "/chat-flow/flows/", map[string]any{"name": "Form", "is_active": true, "flow_data": json.RawMessage(graph)})

	customer := func(args ...string) string {
		t.Helper()
		var o, e syncBuffer
		root := newRoot(&o, &e, func(k string) string { return map[string]string{"PARLEY_URL": base}[k] })
		root.SetArgs(append([]string{"sandbox", "send", "--to-channel", channelID, "--from", "15550001111"}, args...))
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, o.String())
		}
		return o.String()
	}
	got := customer("--text", "form")
	for _, want := range []string{"bot: Pick a time", "[Book now]", "screen 1:", "(APPOINTMENT)", "- service: Dropdown", "complete it with: --form-answers '"} {
		if !strings.Contains(got, want) {
			t.Fatalf("sandbox send printed\n%s\nwant %q", got, want)
		}
	}
	got = customer("--form-answers", `{"service":"haircut","date":"2030-02-01","time":"09:00","name":"Ann","email":"a@b.c","phone":"+15550001111"}`)
	if !strings.Contains(got, "you (15550001111): [form] completed Book now") || !strings.Contains(got, "bot: Booked haircut on 2030-02-01") {
		t.Fatalf("completing the form printed\n%s", got)
	}
	var o, e syncBuffer
	bad := newRoot(&o, &e, func(k string) string { return map[string]string{"PARLEY_URL": base}[k] })
	bad.SetArgs([]string{"sandbox", "send", "--to-channel", channelID, "--from", "15550002222", "--form-answers", `{"a":1}`})
	if err := bad.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "no WhatsApp Flow was sent") {
		t.Fatalf("answers without a form: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSandboxSendWithoutServer: with nothing listening, sandbox send says
// to start the server, and opens no database of its own.
func TestSandboxSendWithoutServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() + "/data"
	_, _, err := run(t, context.Background(), dir, "sandbox", "send", "--server", "http://127.0.0.1:1", "--to-channel", "x", "--text", "hi")
	if err == nil || !strings.Contains(err.Error(), "parley serve --sandbox") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("sandbox send created %s", dir)
	}
}

// TestReadmeSandboxCommands: the README shows the commands serve --sandbox
// prints (for the default address, without --server).
func TestReadmeSandboxCommands(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"go run ./cmd/parley serve --sandbox",
		"go run ./cmd/parley sandbox send --to-channel <channel_id printed above> --from 15551234567 --text book",
		"go run ./cmd/parley sandbox chat --to-channel <channel_id>",
	} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
	// What serve prints for the default address has the same shape.
	printed := fmt.Sprintf(sandboxSendLine, "", "CHANNEL", "book")
	if !strings.Contains(printed, "go run ./cmd/parley sandbox send --to-channel CHANNEL --from 15551234567 --text book") {
		t.Errorf("serve prints %q", printed)
	}
}
