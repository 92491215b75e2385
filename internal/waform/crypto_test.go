package waform

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fixtures is the shared real-world fixture folder (not in the repository):
// ../shared/fixtures beside the module root, or beside a folder above it (a
// git worktree of the repository lives one level deeper).
var fixtures = func() string {
	dir, err := os.Getwd()
	if err != nil {
		return "../shared/fixtures"
	}
	for {
		cand := filepath.Join(dir, "shared", "fixtures")
		if _, err := os.Stat(filepath.Join(cand, "pywa")); err == nil {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "../shared/fixtures"
		}
		dir = parent
	}
}()

type cryptoVectors struct {
	Webhook struct {
		AppSecret string `json:"app_secret"`
		RawBody   string `json:"raw_body"`
		Signature string `json:"x_hub_signature_256"`
	} `json:"webhook_signature"`
	Endpoint struct {
		EncryptedPEM  string          `json:"private_key_pem_encrypted_pkcs8"`
		Password      string          `json:"private_key_password"`
		PEM           string          `json:"private_key_pem_pkcs8"`
		Request       json.RawMessage `json:"request"`
		Decrypted     json.RawMessage `json:"decrypted_request"`
		ResponseBytes string          `json:"response_bytes"`
		EncryptedResp string          `json:"encrypted_response_b64"`
	} `json:"flow_endpoint"`
}

func loadVectors(t testing.TB) cryptoVectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "pywa", "crypto_vectors.json"))
	if os.IsNotExist(err) {
		t.Skip("shared fixtures absent: ../shared/fixtures/pywa/crypto_vectors.json")
	}
	if err != nil {
		t.Fatal(err)
	}
	var cv cryptoVectors
	if err := json.Unmarshal(b, &cv); err != nil {
		t.Fatal(err)
	}
	return cv
}

func TestCryptoVectors(t *testing.T) {
	t.Parallel()
	cv := loadVectors(t)
	for _, tc := range []struct{ name, pem, pass string }{
		{"plain PKCS#8", cv.Endpoint.PEM, ""},
		{"encrypted PKCS#8", cv.Endpoint.EncryptedPEM, cv.Endpoint.Password},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			priv, err := ParsePrivateKey(tc.pem, tc.pass)
			if err != nil {
				t.Fatal(err)
			}
			req, key, iv, err := DecryptRequest(priv, cv.Endpoint.Request)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			_ = json.Unmarshal(req.Raw, &got)
			_ = json.Unmarshal(cv.Endpoint.Decrypted, &want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decrypted %s, want %s", req.Raw, cv.Endpoint.Decrypted)
			}
			if req.Action != "INIT" || req.FlowToken != "my_flow_token" || req.Version != "3.0" {
				t.Fatalf("request fields %+v", req)
			}
			enc, err := EncryptResponse([]byte(cv.Endpoint.ResponseBytes), key, iv)
			if err != nil {
				t.Fatal(err)
			}
			if enc != cv.Endpoint.EncryptedResp {
				t.Fatalf("encrypted response\n got %s\nwant %s", enc, cv.Endpoint.EncryptedResp)
			}
		})
	}
	t.Run("signature", func(t *testing.T) {
		t.Parallel()
		body := []byte(cv.Webhook.RawBody)
		if !VerifySignature(body, cv.Webhook.Signature, "other-secret", cv.Webhook.AppSecret) {
			t.Fatal("the recorded signature does not verify")
		}
		if Sign(body, cv.Webhook.AppSecret) != cv.Webhook.Signature {
			t.Fatal("Sign differs from the recorded signature")
		}
		for _, bad := range []string{"", "sha256=00", "sha1=" + cv.Webhook.Signature[7:], cv.Webhook.Signature[:len(cv.Webhook.Signature)-1] + "0"} {
			if VerifySignature(body, bad, cv.Webhook.AppSecret) {
				t.Fatalf("signature %q verified", bad)
			}
		}
		if VerifySignature(append(body, ' '), cv.Webhook.Signature, cv.Webhook.AppSecret) {
			t.Fatal("a changed body verified")
		}
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		t.Parallel()
		if _, err := ParsePrivateKey(cv.Endpoint.EncryptedPEM, "nope"); err == nil {
			t.Fatal("wrong passphrase accepted")
		}
	})
}
