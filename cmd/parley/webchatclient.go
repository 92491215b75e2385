package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// webchatMessage is a message of the web chat stream, as the widget
// gets it.
type webchatMessage struct {
	ID        string   `json:"id"`
	Direction string   `json:"direction"`
	ClientID  string   `json:"client_id"`
	Text      string   `json:"text"`
	Buttons   []string `json:"buttons"`
	List      *struct {
		Button   string `json:"button"`
		Sections []struct {
			Rows []struct {
				ID    string `json:"id"`
				Title string `json:"title"`
			} `json:"rows"`
		} `json:"sections"`
	} `json:"list"`
}

// webchatVisit plays a web visitor of a web chat channel through the
// widget's own endpoints: a visitor token (kept in the user's cache
// directory per server, channel and --from, so the next send continues
// the conversation), one message, then the stream until the bot's
// replies to it have come or wait is over.
func (sc *sandboxClient) webchatVisit(ctx context.Context, w io.Writer, channelID, from, text, button, list string, wait time.Duration) error {
	token, err := sc.webchatToken(ctx, channelID, from)
	if err != nil {
		return err
	}
	idb := make([]byte, 8)
	_, _ = rand.Read(idb)
	msg := map[string]any{"id": "cli-" + hex.EncodeToString(idb)}
	shown := text
	switch {
	case button != "":
		msg["button"], shown = button, "[button] "+button
	case list != "":
		msg["list_reply"], shown = map[string]string{"id": list, "title": list}, "[list] "+list
	default:
		msg["text"] = text
	}
	if err := sc.webchatCall(ctx, http.MethodPost, "/webchat/"+channelID+"/messages", token, msg, nil); err != nil {
		return err
	}
	fmt.Fprintf(w, "you (web visitor %s): %s\n", from, shown)
	if wait <= 0 {
		return nil
	}
	replies, err := sc.webchatReplies(ctx, channelID, token, msg["id"].(string), wait)
	if len(replies) == 0 && err == nil {
		fmt.Fprintf(w, "(no reply within %s: is a published flow triggered by this message? see the conversation in the web UI)\n", wait)
	}
	for _, r := range replies {
		fmt.Fprintf(w, "bot: %s\n", r.Text)
		for i, b := range r.Buttons {
			fmt.Fprintf(w, "  [%d] %s   (answer: --button %q)\n", i+1, b, b)
		}
		if r.List != nil {
			for _, s := range r.List.Sections {
				for _, row := range s.Rows {
					fmt.Fprintf(w, "  - %s   (answer: --list %q)\n", row.Title, row.ID)
				}
			}
		}
	}
	return err
}

// webchatToken is the visitor token kept for this server, channel and
// --from, or a new one.
func (sc *sandboxClient) webchatToken(ctx context.Context, channelID, from string) (string, error) {
	dir := sc.cacheDir
	if dir == "" {
		var err error
		if dir, err = os.UserCacheDir(); err != nil {
			dir = os.TempDir()
		}
	}
	key := strings.NewReplacer("/", "_", ":", "_", ".", "_").Replace(sc.base + "-" + channelID + "-" + from)
	path := filepath.Join(dir, "parley", "webchat", key)
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := sc.webchatCall(ctx, http.MethodPost, "/webchat/"+channelID+"/visitors", "", nil, &out); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
		_ = os.WriteFile(path, []byte(out.Token), 0o600)
	}
	return out.Token, nil
}

func (sc *sandboxClient) webchatCall(ctx context.Context, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, sc.base+path, rd)
	if err != nil {
		return fmt.Errorf("--server %s: %w", sc.base, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := sc.hc.Do(req)
	if err != nil {
		return fmt.Errorf("no Parley server answers at %s (start it with `parley serve --sandbox`, or pass --server): %w", sc.base, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode >= 300 {
		var p struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(raw, &p) == nil && p.Detail != "" {
			return fmt.Errorf("%s %s: %s", method, path, p.Detail)
		}
		return fmt.Errorf("%s %s answered %s", method, sc.base+path, res.Status)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// webchatReplies reads the visitor's stream (reconnecting after each
// 25-second stream, as the widget does) and returns the bot's messages
// after the visitor's message clientID, until the bot stops typing after
// at least one reply, or wait is over.
func (sc *sandboxClient) webchatReplies(ctx context.Context, channelID, token, clientID string, wait time.Duration) ([]webchatMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var out []webchatMessage
	seen, after := false, ""
	for ctx.Err() == nil {
		path := "/webchat/" + channelID + "/stream"
		if after != "" {
			path += "?after=" + after
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, sc.base+path, nil)
		if err != nil {
			return out, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := (&http.Client{}).Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return out, nil
			}
			return out, fmt.Errorf("reading the web chat stream: %w", err)
		}
		if res.StatusCode != http.StatusOK {
			res.Body.Close()
			return out, fmt.Errorf("GET %s answered %s", path, res.Status)
		}
		done := false
		scan := bufio.NewScanner(res.Body)
		scan.Buffer(make([]byte, 64<<10), 1<<20)
		event := ""
		for !done && scan.Scan() {
			line := scan.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data := []byte(strings.TrimSpace(strings.TrimPrefix(line, "data:")))
				switch event {
				case "message":
					var m webchatMessage
					if json.Unmarshal(data, &m) != nil {
						continue
					}
					after = m.ID
					if m.ClientID == clientID {
						seen = true
					} else if seen && m.Direction == "out" {
						out = append(out, m)
					}
				case "typing":
					var t struct {
						Typing bool `json:"typing"`
					}
					if json.Unmarshal(data, &t) == nil && !t.Typing && seen && len(out) > 0 {
						done = true
					}
				}
			}
		}
		res.Body.Close()
		if done {
			return out, nil
		}
		if err := scan.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return out, fmt.Errorf("reading the web chat stream: %w", err)
		}
	}
	return out, nil
}
