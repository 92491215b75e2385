package flow

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeHTTPRequest calls a URL.
const TypeHTTPRequest = "http_request"

const (
	defaultHTTPTimeout = 10 * time.Second
	maxHTTPTimeoutMS   = 30000
)

// HTTPRequestData is the data of an http_request node.
type HTTPRequestData struct {
	Method           string            `json:"method,omitempty" flow:"template,line,options=GET|POST|PUT|PATCH|DELETE" doc:"GET by default."`
	URL              string            `json:"url" flow:"required,template,line"`
	Headers          map[string]string `json:"headers,omitempty" flow:"template"`
	Body             string            `json:"body,omitempty" flow:"template"`
	TimeoutMS        int               `json:"timeout_ms,omitempty" doc:"Request timeout; 10000 by default, at most 30000."`
	ResponseVariable string            `json:"response_variable,omitempty" flow:"variable" doc:"Variable that receives the whole decoded response."`
	Mappings         []MappingData     `json:"mappings,omitempty"`
}

// MappingData copies a value of the JSON response into a variable.
type MappingData struct {
	Variable string `json:"variable" flow:"required,variable"`
	Path     string `json:"path" flow:"required" doc:"Dot path into the response, e.g. data.items.0.name."`
}

// Exit indices of nodes with success/failure-style exits.
const (
	HTTPExitSuccess = 0
	HTTPExitFailure = 1
)

// HTTPConfig configures an http_request node (exits: HTTPExitSuccess,
// HTTPExitFailure).
type HTTPConfig struct {
	Method *expr.Template // renders to an upper-case method; GET when empty
	URL    *expr.Template
	// Headers sorted by name.
	Headers          []Header
	Body             *expr.Template // nil when none
	Timeout          time.Duration  // 10 s by default
	ResponseVariable string
	Mappings         []Mapping
}

// Header is a templated HTTP header.
type Header struct {
	Name  string
	Value *expr.Template
}

// Mapping copies the value at Path of the JSON response into Variable.
type Mapping struct {
	Variable string
	Path     []string
}

// KindHTTPRequest is the Kind of http_request nodes.
const KindHTTPRequest Kind = 10

var httpRequestNode = def[HTTPRequestData]{
	kind: KindHTTPRequest,
	NodeType: NodeType{Type: TypeHTTPRequest, Group: GroupIntegrations, Label: "HTTP request", Description: "Calls a URL and maps the JSON response into variables.",
		Palette: true, Available: true, Exits: staticExits(ExitSuccess, ExitFailure),
		Limits:   []Limit{rangeLimit("timeout_ms", 0, maxHTTPTimeoutMS, "timeout_ms must be between 0 (default 10000) and 30000")},
		Defaults: map[string]any{"method": "GET", "url": "https://"}, Widgets: []string{"http_test"}},
	aliases: []string{"webhook", "callwebhook", "apicall", "http", "makehttprequest"},
	check:   checkHTTP,
	compile: func(c *compiler, d *HTTPRequestData) any {
		h := &HTTPConfig{Method: c.tplMust(d.Method), URL: c.tplMust(d.URL), Body: c.tpl(d.Body), Timeout: defaultHTTPTimeout, ResponseVariable: d.ResponseVariable}
		if d.TimeoutMS > 0 {
			h.Timeout = time.Duration(d.TimeoutMS) * time.Millisecond
		}
		names := make([]string, 0, len(d.Headers))
		for k := range d.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			h.Headers = append(h.Headers, Header{Name: k, Value: c.tplMust(d.Headers[k])})
		}
		for _, m := range d.Mappings {
			path, err := ParsePath(m.Path)
			if err != nil && c.err == nil {
				c.err = err
			}
			h.Mappings = append(h.Mappings, Mapping{Variable: m.Variable, Path: path})
		}
		return h
	},
}

var httpMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true}

func checkHTTP(a *analysis, i int, d *HTTPRequestData) {
	if d.Method != "" && !strings.Contains(d.Method, "{{") && !httpMethods[strings.ToUpper(d.Method)] {
		a.nodeErr(i, CodeInvalidValue, "/data/method", "%s: method %q is not one of GET, POST, PUT, PATCH, DELETE, HEAD", a.label(i), d.Method)
	}
	if d.URL != "" && !strings.HasPrefix(d.URL, "{{") && !strings.HasPrefix(d.URL, "https://") && !strings.HasPrefix(d.URL, "http://") {
		a.nodeErr(i, CodeInvalidValue, "/data/url", "%s: url %q must start with http:// or https://", a.label(i), d.URL)
	}
	if d.TimeoutMS < 0 || d.TimeoutMS > maxHTTPTimeoutMS {
		a.nodeErr(i, CodeInvalidValue, "/data/timeout_ms", "%s: timeout_ms must be between 0 (default 10000) and %d", a.label(i), maxHTTPTimeoutMS)
	}
	a.checkVariable(i, "/data/response_variable", d.ResponseVariable)
	for k, m := range d.Mappings {
		mp := "/data/mappings/" + strconv.Itoa(k)
		a.checkVariable(i, mp+"/variable", m.Variable)
		if _, err := ParsePath(m.Path); err != nil && m.Path != "" {
			a.nodeErr(i, CodeInvalidValue, mp+"/path", "%s: %v", a.label(i), err)
		}
	}
}

// ParsePath splits a response path such as "data.items.0.name" (or
// "data.items[0].name") into its segments.
func ParsePath(p string) ([]string, error) {
	p = strings.TrimPrefix(strings.TrimSpace(p), "$.")
	if p == "" {
		return nil, fmt.Errorf("path is empty")
	}
	p = strings.NewReplacer("[", ".", "]", "").Replace(p)
	segs := strings.Split(p, ".")
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("path %q has an empty segment", p)
		}
	}
	return segs, nil
}
