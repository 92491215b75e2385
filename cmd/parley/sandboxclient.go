package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// defaultServer is where `parley serve` listens unless told otherwise.
const defaultServer = "http://127.0.0.1:8080"

// sandboxClient talks to a running `parley serve --sandbox` through its
// /sandbox/ routes: it never opens a database, and the channel's secrets
// never leave the server (the server signs the customer's webhooks).
type sandboxClient struct {
	base string
	hc   *http.Client
	// cacheDir keeps web chat visitor tokens (XDG_CACHE_HOME; default
	// the user's cache directory).
	cacheDir string
}

// sandboxChannel, sandboxSent, sandboxReply and sandboxOption mirror the
// /sandbox/ routes' JSON.
type sandboxChannel struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Type          string `json:"type"`
	PhoneNumberID string `json:"phone_number_id"`
}

type sandboxSent struct {
	ID        string `json:"id"`
	ChannelID string `json:"channel_id"`
	After     int    `json:"after"`
	Kind      string `json:"kind"`
	Title     string `json:"title"`
}

type sandboxReply struct {
	Seq        int             `json:"seq"`
	Type       string          `json:"type"`
	Header     string          `json:"header"`
	Text       string          `json:"text"`
	Footer     string          `json:"footer"`
	Caption    string          `json:"caption"`
	Link       string          `json:"link"`
	Filename   string          `json:"filename"`
	Template   string          `json:"template"`
	ListButton string          `json:"list_button"`
	Options    []sandboxOption `json:"options"`
	Form       *sandboxForm    `json:"form"`
}

// sandboxForm is a WhatsApp Flow a flow message opens.
type sandboxForm struct {
	CTA     string `json:"cta"`
	Screens []struct {
		ID       string `json:"id"`
		Title    string `json:"title"`
		Terminal bool   `json:"terminal"`
		Fields   []struct {
			Name     string   `json:"name"`
			Type     string   `json:"type"`
			Label    string   `json:"label"`
			Required bool     `json:"required"`
			Options  []string `json:"options"`
		} `json:"fields"`
	} `json:"screens"`
}

type sandboxOption struct {
	Kind        string `json:"kind"`
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
}

// sandboxSend is one customer message: exactly one of the last four.
type sandboxSend struct {
	ChannelID  string `json:"channel_id"`
	From       string `json:"from"`
	Name       string `json:"name,omitempty"`
	Text       string `json:"text,omitempty"`
	Button     string `json:"button,omitempty"`
	List       string `json:"list,omitempty"`
	QuickReply string `json:"quick_reply,omitempty"`
	// FormAnswers completes the last form sent (the nfm_reply).
	FormAnswers map[string]any `json:"form_answers,omitempty"`
}

// serverURL is --server, else PARLEY_URL, else the address `serve` uses
// by default (PARLEY_ADDR when set).
func (c *cli) serverURL(flag string) string {
	u := flag
	if u == "" {
		u = c.getenv("PARLEY_URL")
	}
	if u == "" && c.getenv("PARLEY_ADDR") != "" {
		u = "http://" + c.getenv("PARLEY_ADDR")
	}
	if u == "" {
		u = defaultServer
	}
	if !strings.Contains(u, "://") {
		u = "http://" + u
	}
	return strings.TrimSuffix(u, "/")
}

func (sc *sandboxClient) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, sc.base+path, rd)
	if err != nil {
		return fmt.Errorf("--server %s: %w", sc.base, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := sc.hc.Do(req)
	if err != nil {
		return fmt.Errorf("no Parley server answers at %s (start it with `parley serve --sandbox`, or pass --server): %w", sc.base, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if res.StatusCode >= 300 {
		var p struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(raw, &p) == nil && p.Detail != "" {
			return fmt.Errorf("%s", p.Detail)
		}
		return fmt.Errorf("%s %s answered %s", method, sc.base+path, res.Status)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
		}
	}
	return nil
}

// channel picks the sandbox channel: the one given, else the only one (of
// the type, when one is given).
func (sc *sandboxClient) channel(ctx context.Context, id, typ string) (string, error) {
	if id != "" {
		return id, nil
	}
	var list struct {
		Items []sandboxChannel `json:"items"`
	}
	if err := sc.call(ctx, http.MethodGet, "/sandbox/channels/", nil, &list); err != nil {
		return "", err
	}
	if typ == "" && len(list.Items) > 1 {
		// serve --sandbox has one channel of each type: WhatsApp is the
		// default, as before the others existed.
		typ = "whatsapp"
	}
	if typ != "" {
		var ofType []sandboxChannel
		for _, ch := range list.Items {
			if ch.Type == typ {
				ofType = append(ofType, ch)
			}
		}
		if len(ofType) == 0 {
			return "", fmt.Errorf("the sandbox has no %s channel (restart `parley serve --sandbox` to create one)", typ)
		}
		list.Items = ofType
	}
	if len(list.Items) == 1 {
		return list.Items[0].ID, nil
	}
	var names []string
	for _, ch := range list.Items {
		names = append(names, fmt.Sprintf("%s (%q, %s)", ch.ID, ch.Name, ch.Type))
	}
	return "", fmt.Errorf("--to-channel or --channel-type is required: the sandbox channels are %s", strings.Join(names, ", "))
}

func (sc *sandboxClient) send(ctx context.Context, in sandboxSend) (sandboxSent, error) {
	var out sandboxSent
	err := sc.call(ctx, http.MethodPost, "/sandbox/messages/", in, &out)
	return out, err
}

// replies waits up to wait for the bot's answers after the cursor: it
// returns once answers came and none followed for quiet, or at wait.
func (sc *sandboxClient) replies(ctx context.Context, channelID, to string, after int, wait, quiet time.Duration) ([]sandboxReply, error) {
	var got []sandboxReply
	deadline := time.Now().Add(wait)
	var last time.Time
	for {
		var page struct {
			Items  []sandboxReply `json:"items"`
			Cursor int            `json:"cursor"`
		}
		q := url.Values{"channel_id": {channelID}, "to": {to}, "after": {strconv.Itoa(after)}}
		path := "/sandbox/replies/?" + q.Encode()
		if err := sc.call(ctx, http.MethodGet, path, nil, &page); err != nil {
			return got, err
		}
		if len(page.Items) > 0 {
			got = append(got, page.Items...)
			after = page.Items[len(page.Items)-1].Seq
			last = time.Now()
		}
		now := time.Now()
		if now.After(deadline) || (!last.IsZero() && now.Sub(last) >= quiet) {
			return got, nil
		}
		select {
		case <-ctx.Done():
			return got, nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// printReplies writes the replies as the customer's phone shows them and
// says how to answer the last one's options.
func printReplies(w io.Writer, replies []sandboxReply, wait time.Duration, answer func(o sandboxOption) string) {
	if len(replies) == 0 {
		fmt.Fprintf(w, "(no reply within %s: is a published flow triggered by this message? see the conversation in the web UI)\n", wait)
		return
	}
	for _, r := range replies {
		var head string
		switch {
		case r.Template != "":
			head = fmt.Sprintf("[template %s] ", r.Template)
		case r.Type != "text" && r.Type != "interactive" && r.Type != "":
			head = fmt.Sprintf("[%s", r.Type)
			if r.Filename != "" {
				head += " " + r.Filename
			}
			if r.Link != "" {
				head += " " + r.Link
			}
			head += "] "
		}
		lines := []string{}
		if r.Header != "" {
			lines = append(lines, "*"+r.Header+"*")
		}
		body := r.Text
		if body == "" {
			body = r.Caption
		}
		lines = append(lines, strings.Split(body, "\n")...)
		if r.Footer != "" {
			lines = append(lines, "_"+r.Footer+"_")
		}
		fmt.Fprintf(w, "bot: %s%s\n", head, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "     %s\n", l)
		}
		if r.ListButton != "" {
			fmt.Fprintf(w, "     [%s]\n", r.ListButton)
		}
		printForm(w, r.Form)
		n := 0
		for _, o := range r.Options {
			if o.Kind == "link" {
				fmt.Fprintf(w, "     (link) %s: %s\n", o.Title, o.URL)
				continue
			}
			n++
			line := fmt.Sprintf("     %d. %s", n, o.Title)
			if o.Description != "" {
				line += " — " + o.Description
			}
			fmt.Fprintln(w, line)
		}
	}
	lastOpts := []sandboxOption{}
	for _, o := range replies[len(replies)-1].Options {
		if o.Kind != "link" {
			lastOpts = append(lastOpts, o)
		}
	}
	if len(lastOpts) > 0 && answer != nil {
		fmt.Fprintf(w, "answer with: %s\n", answer(lastOpts[0]))
	}
}

// printForm shows the screens of a form the bot sent and how to complete
// it.
func printForm(w io.Writer, f *sandboxForm) {
	if f == nil {
		return
	}
	example := map[string]any{}
	for i, sc := range f.Screens {
		fmt.Fprintf(w, "     screen %d: %s (%s)\n", i+1, sc.Title, sc.ID)
		for _, fl := range sc.Fields {
			line := fmt.Sprintf("       - %s: %s", fl.Name, fl.Type)
			if fl.Label != "" {
				line += fmt.Sprintf(" %q", fl.Label)
			}
			if fl.Required {
				line += " (required)"
			}
			if len(fl.Options) > 0 {
				line += " one of " + strings.Join(fl.Options, ", ")
			}
			fmt.Fprintln(w, line)
			if _, ok := example[fl.Name]; !ok && fl.Required {
				switch {
				case len(fl.Options) > 0:
					example[fl.Name] = fl.Options[0]
				case fl.Type == "OptIn":
					example[fl.Name] = true
				case fl.Type == "DatePicker" || fl.Type == "CalendarPicker":
					example[fl.Name] = time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
				default:
					example[fl.Name] = "…"
				}
			}
		}
	}
	b, _ := json.Marshal(example)
	fmt.Fprintf(w, "complete it with: --form-answers '%s'\n", b)
}

// optionFlag is the `sandbox send` flag that answers an option's kind.
func optionFlag(kind string) string {
	switch kind {
	case "list":
		return "--list"
	case "quick_reply":
		return "--quick-reply"
	}
	return "--button"
}

func (c *cli) sandboxSendCmd() *cobra.Command {
	var server, channelID, channelType, from, name, text, button, list, quick, answers string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "send [--server URL] (--to-channel ID | --channel-type TYPE) --from ADDRESS (--text T | --button TITLE | --list ROW | --quick-reply TITLE | --form-answers JSON)",
		Short: "Play the customer: send one message to a sandbox channel of the running server and print the bot's replies",
		Long: "Asks the running `parley serve --sandbox` (--server, env PARLEY_URL, default " + defaultServer + ") to post a correctly " +
			"signed inbound webhook (WhatsApp, Messenger, Instagram or Viber, as --channel-type picks) to one of its sandbox channels (with --channel-type webchat it plays a web visitor through the widget's /webchat/ endpoints instead), then waits (--wait) and prints what the bot answered, " +
			"as the customer's phone shows it. Buttons, list rows and template quick replies are answered by their title or number. " +
			"It opens no database. For a whole conversation use `parley sandbox chat`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			given := 0
			for _, v := range []string{text, button, list, quick, answers} {
				if v != "" {
					given++
				}
			}
			if given != 1 {
				return fmt.Errorf("give exactly one of --text, --button, --list, --quick-reply or --form-answers")
			}
			var formAnswers map[string]any
			if answers != "" {
				if err := json.Unmarshal([]byte(answers), &formAnswers); err != nil || formAnswers == nil {
					return fmt.Errorf("--form-answers must be a JSON object of the form's answers, e.g. '{\"date\":\"2030-02-01\"}': %v", err)
				}
			}
			ctx := cmd.Context()
			sc := &sandboxClient{base: c.serverURL(server), hc: &http.Client{Timeout: 15 * time.Second}}
			id, err := sc.channel(ctx, channelID, channelType)
			if err != nil {
				return err
			}
			if channelType == "webchat" {
				if quick != "" || answers != "" {
					return fmt.Errorf("a web visitor sends --text, --button or --list")
				}
				sc.cacheDir = c.getenv("XDG_CACHE_HOME")
				return sc.webchatVisit(ctx, c.stdout, id, from, text, button, list, wait)
			}
			sent, err := sc.send(ctx, sandboxSend{ChannelID: id, From: from, Name: name, Text: text, Button: button, List: list, QuickReply: quick, FormAnswers: formAnswers})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "you (%s): %s\n", from, describeSent(sent))
			replies, err := sc.replies(ctx, id, from, sent.After, wait, time.Second)
			printReplies(c.stdout, replies, wait, func(o sandboxOption) string {
				cmdline := "parley sandbox send"
				if sc.base != defaultServer {
					cmdline += " --server " + sc.base
				}
				return fmt.Sprintf("%s --to-channel %s --from %s %s %q", cmdline, id, from, optionFlag(o.Kind), o.Title)
			})
			return err
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "the running Parley server (env PARLEY_URL; default "+defaultServer+")")
	cmd.Flags().StringVar(&channelID, "to-channel", "", "the sandbox channel's ID (default: the only sandbox channel)")
	cmd.Flags().StringVar(&channelType, "channel-type", "", "the sandbox channel of this type: whatsapp, messenger, instagram, viber or webchat (a web visitor, through the widget's endpoints)")
	cmd.Flags().StringVar(&from, "from", "15551234567", "the customer's address: number (WhatsApp), PSID, IGSID or Viber user ID; for webchat a name for the visitor (its token is kept per name)")
	cmd.Flags().StringVar(&name, "name", "Sandbox Customer", "the customer's profile name")
	cmd.Flags().StringVar(&text, "text", "", "a text message")
	cmd.Flags().StringVar(&button, "button", "", "tap a reply button: its title or number")
	cmd.Flags().StringVar(&list, "list", "", "choose a list row: its title, ID or number")
	cmd.Flags().StringVar(&quick, "quick-reply", "", "tap a template quick-reply button: its title or number")
	cmd.Flags().StringVar(&answers, "form-answers", "", "complete the last WhatsApp Flow (form) sent to you with these answers (a JSON object)")
	cmd.Flags().DurationVar(&wait, "wait", 5*time.Second, "how long to wait for the bot's replies (0 to not wait)")
	return cmd
}

func describeSent(s sandboxSent) string {
	if s.Kind == "text" || s.Kind == "" {
		return s.Title
	}
	return fmt.Sprintf("[%s] %s", strings.ReplaceAll(s.Kind, "_", " "), s.Title)
}

func (c *cli) sandboxChatCmd() *cobra.Command {
	var server, channelID, channelType, from, name string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "chat [--server URL] [--to-channel ID] [--from NUMBER]",
		Short: "Chat with the bot as a customer of a sandbox channel, in the terminal",
		Long: "Reads lines from the terminal and sends each as the customer to a sandbox channel of the running `parley serve --sandbox`, " +
			"printing the bot's replies. When the bot offers buttons, list rows or quick replies, type the option's number or title " +
			"to tap it; anything else is sent as text. End with Ctrl-D (or /quit).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			sc := &sandboxClient{base: c.serverURL(server), hc: &http.Client{Timeout: 15 * time.Second}}
			id, err := sc.channel(ctx, channelID, channelType)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Chatting with sandbox channel %s as %s (on %s). Type a message; a number or title taps a button; Ctrl-D ends.\n", id, from, sc.base)
			var offered []sandboxOption
			in := bufio.NewScanner(cmd.InOrStdin())
			for {
				fmt.Fprint(c.stdout, "> ")
				if !in.Scan() {
					fmt.Fprintln(c.stdout)
					return in.Err()
				}
				line := strings.TrimSpace(in.Text())
				if line == "" {
					continue
				}
				if line == "/quit" || line == "/exit" {
					return nil
				}
				msg := sandboxSend{ChannelID: id, From: from, Name: name, Text: line}
				if o, ok := chooseOption(offered, line); ok {
					msg.Text = ""
					switch o.Kind {
					case "list":
						msg.List = o.ID
					case "quick_reply":
						msg.QuickReply = o.ID
					default:
						msg.Button = o.ID
					}
				}
				sent, err := sc.send(ctx, msg)
				if err != nil {
					fmt.Fprintln(c.stdout, "error:", err)
					continue
				}
				if sent.Kind != "text" {
					fmt.Fprintf(c.stdout, "you: %s\n", describeSent(sent))
				}
				replies, err := sc.replies(ctx, id, from, sent.After, wait, time.Second)
				if err != nil {
					fmt.Fprintln(c.stdout, "error:", err)
				}
				printReplies(c.stdout, replies, wait, func(o sandboxOption) string {
					return fmt.Sprintf("a number, or a title such as %q", o.Title)
				})
				for i := len(replies) - 1; i >= 0; i-- {
					if opts := replyOptions(replies[i].Options); len(opts) > 0 {
						offered = opts
						break
					}
				}
			}
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "the running Parley server (env PARLEY_URL; default "+defaultServer+")")
	cmd.Flags().StringVar(&channelID, "to-channel", "", "the sandbox channel's ID (default: the only sandbox channel)")
	cmd.Flags().StringVar(&channelType, "channel-type", "", "the sandbox channel of this type: whatsapp, messenger, instagram, viber or webchat (a web visitor, through the widget's endpoints)")
	cmd.Flags().StringVar(&from, "from", "15551234567", "the customer's address: number (WhatsApp), PSID, IGSID or Viber user ID; for webchat a name for the visitor (its token is kept per name)")
	cmd.Flags().StringVar(&name, "name", "Sandbox Customer", "the customer's profile name")
	cmd.Flags().DurationVar(&wait, "wait", 5*time.Second, "how long to wait for the bot's replies to each message")
	return cmd
}

func replyOptions(all []sandboxOption) []sandboxOption {
	var out []sandboxOption
	for _, o := range all {
		if o.Kind != "link" {
			out = append(out, o)
		}
	}
	return out
}

// chooseOption matches a typed line to an offered option: its number or
// its title (case-insensitive).
func chooseOption(offered []sandboxOption, line string) (sandboxOption, bool) {
	var n int
	if _, err := fmt.Sscanf(line, "%d", &n); err == nil && fmt.Sprint(n) == line && n >= 1 && n <= len(offered) {
		return offered[n-1], true
	}
	for _, o := range offered {
		if strings.EqualFold(o.Title, line) {
			return o, true
		}
	}
	return sandboxOption{}, false
}
