// Package verifyexample is the Go receiver of docs/webhooks.md, compiled
// and tested: eventhook's tests deliver real events to it, and check that
// the page shows exactly this code.
package verifyexample

// --- docs/webhooks.md: Go ---

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// VerifyParley reads the request's body and checks its Parley-Signature
// header: the HMAC-SHA256 of "<t>.<body>" with the subscription's secret,
// signed less than 5 minutes ago. It returns the body to parse.
func VerifyParley(r *http.Request, secret string) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var ts string
	var sigs []string
	for _, part := range strings.Split(r.Header.Get("Parley-Signature"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, errors.New("no timestamp in Parley-Signature")
	}
	if age := time.Since(time.Unix(sec, 0)); age > 5*time.Minute || age < -5*time.Minute {
		return nil, errors.New("signature too old: a replay?")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := hex.EncodeToString(mac.Sum(nil))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return body, nil
		}
	}
	return nil, errors.New("signature mismatch")
}

// --- end ---
