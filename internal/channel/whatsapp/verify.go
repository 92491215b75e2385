package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/url"
)

// MaxWebhookBytes is the largest webhook body accepted (Meta batches at most
// a few hundred KB; 4 MB leaves room without inviting abuse).
const MaxWebhookBytes = 4 << 20

// SignatureHeader is the header Meta signs webhook bodies in.
const SignatureHeader = "X-Hub-Signature-256"

// VerifyHandshake answers Meta's webhook subscription check: mode must be
// "subscribe" and the token must match ours (compared in constant time).
// The challenge is echoed as is.
func VerifyHandshake(query url.Values, verifyToken string) (challenge string, ok bool) {
	if verifyToken == "" || query.Get("hub.mode") != "subscribe" {
		return "", false
	}
	got := query.Get("hub.verify_token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(verifyToken)) != 1 {
		return "", false
	}
	return query.Get("hub.challenge"), true
}

// VerifySignature checks header ("sha256=<hex>") against the HMAC-SHA256 of
// the raw body with the app secret, in constant time. An empty secret, a
// missing or malformed header, or a body over MaxWebhookBytes fail.
func VerifySignature(rawBody []byte, header, appSecret string) bool {
	if appSecret == "" || len(rawBody) > MaxWebhookBytes {
		return false
	}
	const prefix = "sha256="
	if len(header) != len(prefix)+2*sha256.Size || header[:len(prefix)] != prefix {
		return false
	}
	want, err := hex.DecodeString(header[len(prefix):])
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(rawBody)
	return hmac.Equal(mac.Sum(nil), want)
}

// Sign returns the X-Hub-Signature-256 value for body: what Meta sends, and
// what the sandbox and tests send.
func Sign(rawBody []byte, appSecret string) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(rawBody)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
