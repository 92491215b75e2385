package flow

import (
	"slices"
	"strconv"
	"strings"
)

// TypeStart is where a flow begins.
const TypeStart = "start"

// StartData is the data of a start node.
type StartData struct {
	Trigger *TriggerData `json:"trigger,omitempty" doc:"What starts the flow; manual when absent."`
}

// TriggerData says what starts a flow.
type TriggerData struct {
	Type         string   `json:"type" flow:"required,enum=manual|api|inbound|keyword|campaign|referral|conversation_started|story|inbound_call" doc:"manual/api: started by the API or UI; inbound: any first message on the channel types; keyword: a message matching keywords; campaign: started by a campaign for each dataset row; referral: a person who came from an ad or a referral link (click-to-WhatsApp/Messenger ads, m.me links); conversation_started: a Viber user opened the chat; story: an Instagram story reply or mention; inbound_call: a call to a voice number from a caller no session awaits (begin the flow with a wait_inbound_call on that number: it answers the call)."`
	Keywords     []string `json:"keywords,omitempty" doc:"Keywords of a keyword trigger (case-insensitive)."`
	Match        string   `json:"match,omitempty" flow:"enum=exact|contains|starts_with" doc:"How keywords match the message; exact by default."`
	ChannelTypes []string `json:"channel_types,omitempty" doc:"Channel types the trigger listens on (whatsapp, webchat…); all when empty."`
	Referrals    []string `json:"referrals,omitempty" doc:"Referral trigger: the ad IDs or referral parameters (ref) that start the flow; any referral when empty."`
	StoryKinds   []string `json:"story_kinds,omitempty" doc:"Story trigger: reply, mention or both (empty)."`
}

// Trigger is a compiled start trigger.
type Trigger struct {
	// Type is manual, api, inbound, keyword or campaign.
	Type string
	// Keywords are lower-cased and trimmed.
	Keywords []string
	// Match is exact, contains or starts_with.
	Match        string
	ChannelTypes []string
	// Referrals are the ad IDs or ref parameters a referral trigger takes
	// (any when empty); StoryKinds the story events a story trigger takes
	// (reply, mention; both when empty).
	Referrals  []string
	StoryKinds []string
}

// StartConfig configures a start node; its single exit is next.
type StartConfig struct{ Trigger Trigger }

// KindStart is the Kind of start nodes.
const KindStart Kind = 1

var startNode = def[StartData]{
	kind: KindStart,
	NodeType: NodeType{Type: TypeStart, Group: GroupLogic, Label: "Start", Description: "Where the flow begins and what triggers it.",
		Available: true, Exits: staticExits(ExitNext), Defaults: map[string]any{"trigger": map[string]any{"type": "manual"}}},
	aliases: []string{"trigger", "entry", "startflow"},
	check: func(a *analysis, i int, d *StartData) {
		if d.Trigger != nil && d.Trigger.Type == "keyword" && len(d.Trigger.Keywords) == 0 {
			a.nodeErr(i, CodeMissingField, "/data/trigger/keywords", "%s: a keyword trigger needs at least one keyword", a.label(i))
		}
		if d.Trigger != nil {
			for k, sk := range d.Trigger.StoryKinds {
				if sk != "reply" && sk != "mention" {
					a.nodeErr(i, CodeInvalidValue, "/data/trigger/story_kinds/"+strconv.Itoa(k), "%s: story kind %q is not reply or mention", a.label(i), sk)
				}
			}
			if only, ok := triggerChannel[d.Trigger.Type]; ok {
				for k, ct := range d.Trigger.ChannelTypes {
					if ct != only {
						a.nodeErr(i, CodeInvalidValue, "/data/trigger/channel_types/"+strconv.Itoa(k), "%s: a %s trigger only comes from %s channels, not %s", a.label(i), d.Trigger.Type, only, ct)
					}
				}
			}
		}
		for k, kw := range d.Trigger.keywords() {
			if strings.TrimSpace(kw) == "" {
				a.nodeErr(i, CodeInvalidValue, "/data/trigger/keywords/"+strconv.Itoa(k), "%s: keyword %d is empty", a.label(i), k+1)
			}
		}
		if ce, ok := a.env.(ChannelTypesEnv); ok && d.Trigger != nil {
			if known := ce.ChannelTypes(); known != nil {
				for k, ct := range d.Trigger.ChannelTypes {
					if !slices.Contains(known, ct) {
						a.nodeErr(i, CodeUnavailableChannelType, "/data/trigger/channel_types/"+strconv.Itoa(k),
							"%s listens on %s channels, which this server cannot connect yet (it connects: %s); remove %q from channel_types",
							a.label(i), ct, strings.Join(known, ", "), ct)
					}
				}
			}
		}
	},
	compile: func(_ *compiler, d *StartData) any {
		t := Trigger{Type: "manual"}
		if d.Trigger != nil {
			t.Type, t.Match, t.ChannelTypes = d.Trigger.Type, d.Trigger.Match, d.Trigger.ChannelTypes
			t.Referrals, t.StoryKinds = d.Trigger.Referrals, d.Trigger.StoryKinds
			if only, ok := triggerChannel[t.Type]; ok && len(t.ChannelTypes) == 0 {
				t.ChannelTypes = []string{only}
			}
			if t.Match == "" {
				t.Match = "exact"
			}
			for _, k := range d.Trigger.Keywords {
				t.Keywords = append(t.Keywords, strings.ToLower(strings.TrimSpace(k)))
			}
		}
		return &StartConfig{Trigger: t}
	},
}

// Channels are the channel types the trigger listens on: its channel_types,
// or the one type its kind comes from (story: instagram), or none (all).
func (t *TriggerData) Channels() []string {
	if t == nil {
		return nil
	}
	if len(t.ChannelTypes) == 0 {
		if only, ok := triggerChannel[t.Type]; ok {
			return []string{only}
		}
	}
	return t.ChannelTypes
}

// triggerChannel is the one channel type some triggers come from.
var triggerChannel = map[string]string{"conversation_started": "viber", "story": "instagram", "inbound_call": "voice"}

func (t *TriggerData) keywords() []string {
	if t == nil {
		return nil
	}
	return t.Keywords
}
