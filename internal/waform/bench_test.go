package waform

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// largestExample returns the biggest real Flow JSON document.
func largestExample(b *testing.B) realExample {
	var best realExample
	for _, ex := range realExamples(b) {
		if len(ex.raw) > len(best.raw) {
			best = ex
		}
	}
	return best
}

// BenchmarkValidateLargest validates the largest real example; the target
// is under 5 ms per document (the benchmark fails above it).
func BenchmarkValidateLargest(b *testing.B) {
	ex := largestExample(b)
	b.SetBytes(int64(len(ex.raw)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if res := Validate(ex.raw); !res.Valid() {
			b.Fatalf("%s: %+v", ex.name, res.Errors())
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(len(ex.raw)), "doc-bytes")
	if per > 5*time.Millisecond {
		b.Fatalf("validating %s took %v per document; the target is < 5 ms", ex.name, per)
	}
}

// BenchmarkEndpointOverhead measures, in the same run, the endpoint's whole
// decrypt → route → encrypt path (Answer: signature, RSA-OAEP, AES-GCM,
// JSON, Router, JSON, AES-GCM) and the raw crypto alone (RSA-OAEP decrypt +
// AES-GCM open + seal), interleaved so both see the same machine state. The
// target: the endpoint's p99 within 2× the raw crypto's p99.
func BenchmarkEndpointOverhead(b *testing.B) {
	key := endpointKey(b)
	ep, _ := newEndpoint(b)
	plain := []byte(`{"version":"3.0","action":"data_exchange","screen":"DETAILS","data":{"name":"Ana","slots":["09:00","11:00"]},"flow_token":"t1"}`)
	body, _, _, err := EncryptRequest(&key.PublicKey, plain)
	if err != nil {
		b.Fatal(err)
	}
	sig := Sign(body, appSecret)
	var env EncryptedRequest
	_ = json.Unmarshal(body, &env)
	respPlain := []byte(`{"screen":"SLOTS","data":{"action":"data_exchange"}}`)
	raw := func() {
		wrapped, _ := base64.StdEncoding.DecodeString(env.EncryptedAESKey)
		iv, _ := base64.StdEncoding.DecodeString(env.InitialVector)
		data, _ := base64.StdEncoding.DecodeString(env.EncryptedFlowData)
		k, err := rsa.DecryptOAEP(sha256.New(), nil, key, wrapped, nil)
		if err != nil {
			b.Fatal(err)
		}
		gcm, _ := newGCM(k)
		if _, err := gcm.Open(nil, iv, data, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := EncryptResponse(respPlain, k, iv); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	var epLat, rawLat []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if rep := ep.Answer(ctx, "wf1", sig, body); rep.Status != 200 {
			b.Fatalf("status %d %s", rep.Status, rep.Body)
		}
		t1 := time.Now()
		raw()
		t2 := time.Now()
		epLat = append(epLat, t1.Sub(t0))
		rawLat = append(rawLat, t2.Sub(t1))
	}
	p99 := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[min(len(s)-1, len(s)*99/100)]
	}
	pe, pr := p99(epLat), p99(rawLat)
	b.ReportMetric(float64(pe.Microseconds()), "endpoint-p99-µs")
	b.ReportMetric(float64(pr.Microseconds()), "raw-crypto-p99-µs")
	b.ReportMetric(float64(pe)/float64(pr), "p99-ratio")
	if len(epLat) >= 100 && pe > 2*pr {
		b.Fatalf("endpoint p99 %v is more than 2× the raw crypto p99 %v", pe, pr)
	}
}

// BenchmarkValidateLimitUnmarshal is the floor for the validator: reading
// the same document with encoding/json into generic values, no rule applied.
func BenchmarkValidateLimitUnmarshal(b *testing.B) {
	ex := largestExample(b)
	b.SetBytes(int64(len(ex.raw)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := json.Unmarshal(ex.raw, &v); err != nil {
			b.Fatal(err)
		}
	}
}
