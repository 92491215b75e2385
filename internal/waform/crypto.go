package waform

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/secret"
)

// Request is a decrypted data-exchange request (spec §3.2).
type Request struct {
	Version            string         `json:"version"`
	Action             string         `json:"action"` // ping, INIT, BACK, data_exchange
	Screen             string         `json:"screen,omitempty"`
	Data               map[string]any `json:"data,omitempty"`
	FlowToken          string         `json:"flow_token,omitempty"`
	FlowTokenSignature string         `json:"flow_token_signature,omitempty"` // Data API 4.0
	// Raw is the decrypted JSON exactly as Meta sent it.
	Raw json.RawMessage `json:"-"`
}

// IsErrorNotification reports whether the request tells that the endpoint's
// previous response was invalid (data.error is set); such requests are
// acknowledged, not routed.
func (r Request) IsErrorNotification() bool {
	if r.Data == nil {
		return false
	}
	_, ok := r.Data["error"]
	return ok && r.Action != "ping"
}

// EncryptedRequest is the envelope Meta POSTs to the endpoint.
type EncryptedRequest struct {
	EncryptedFlowData string `json:"encrypted_flow_data"`
	EncryptedAESKey   string `json:"encrypted_aes_key"`
	InitialVector     string `json:"initial_vector"`
}

// ErrDecrypt is returned when a request cannot be decrypted; the endpoint
// answers 421 so the client refetches the public key and retries.
var ErrDecrypt = errors.New("the request cannot be decrypted")

// ivSize is Meta's (non-standard) GCM nonce size.
const ivSize = 16

// DecryptRequest opens an endpoint request body (the JSON envelope) with the
// business private key: RSA-OAEP-SHA256 unwraps the AES-128 key, AES-GCM with
// the 16-byte IV opens the payload. The AES key and IV are returned for
// EncryptResponse. Every failure wraps ErrDecrypt.
func DecryptRequest(priv *rsa.PrivateKey, body []byte) (Request, []byte, []byte, error) {
	var env EncryptedRequest
	if err := json.Unmarshal(body, &env); err != nil {
		return Request{}, nil, nil, fmt.Errorf("%w: the body is not the JSON envelope: %v", ErrDecrypt, err)
	}
	wrapped, err1 := base64.StdEncoding.DecodeString(env.EncryptedAESKey)
	iv, err2 := base64.StdEncoding.DecodeString(env.InitialVector)
	data, err3 := base64.StdEncoding.DecodeString(env.EncryptedFlowData)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Request{}, nil, nil, fmt.Errorf("%w: bad base64: %v", ErrDecrypt, err)
	}
	if len(iv) != ivSize {
		return Request{}, nil, nil, fmt.Errorf("%w: initial_vector is %d bytes, want %d", ErrDecrypt, len(iv), ivSize)
	}
	if priv == nil {
		return Request{}, nil, nil, fmt.Errorf("%w: no private key", ErrDecrypt)
	}
	key, err := rsa.DecryptOAEP(sha256.New(), nil, priv, wrapped, nil)
	if err != nil {
		return Request{}, nil, nil, fmt.Errorf("%w: unwrapping the AES key: %v", ErrDecrypt, err)
	}
	gcm, err := newGCM(key)
	if err != nil {
		return Request{}, nil, nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	plain, err := gcm.Open(nil, iv, data, nil)
	if err != nil {
		return Request{}, nil, nil, fmt.Errorf("%w: opening the payload: %v", ErrDecrypt, err)
	}
	var req Request
	if err := json.Unmarshal(plain, &req); err != nil {
		return Request{}, nil, nil, fmt.Errorf("%w: the payload is not JSON: %v", ErrDecrypt, err)
	}
	req.Raw = plain
	return req, key, iv, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("the AES key is %d bytes, want 16", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithNonceSize(block, ivSize)
}

// EncryptResponse seals the response JSON bytes with the request's AES key
// and the inverted IV, returning the base64 text the endpoint answers with.
func EncryptResponse(resp []byte, aesKey, iv []byte) (string, error) {
	if len(iv) != ivSize {
		return "", fmt.Errorf("encrypting the response: the IV is %d bytes, want %d", len(iv), ivSize)
	}
	gcm, err := newGCM(aesKey)
	if err != nil {
		return "", fmt.Errorf("encrypting the response: %w", err)
	}
	var flipped [ivSize]byte
	for i, b := range iv {
		flipped[i] = ^b
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nil, flipped[:], resp, nil)), nil
}

// VerifySignature checks an X-Hub-Signature-256 header ("sha256=<hex>")
// against the raw body, in constant time, with any of the app secrets (more
// than one during a secret rotation).
func VerifySignature(body []byte, header string, appSecrets ...string) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	valid := 0
	for _, s := range appSecrets {
		if s == "" {
			continue
		}
		m := hmac.New(sha256.New, []byte(s))
		m.Write(body)
		valid |= subtle.ConstantTimeCompare(m.Sum(nil), got)
	}
	return valid == 1
}

// Sign returns the X-Hub-Signature-256 header value for body, as Meta
// computes it (the sandbox uses it to call endpoints).
func Sign(body []byte, appSecret string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// KeyPair is a business encryption key pair in PEM.
type KeyPair struct {
	PrivatePEM string // PKCS#8 "PRIVATE KEY"
	PublicPEM  string // PKIX "PUBLIC KEY", what Meta's whatsapp_business_encryption takes
}

// GenerateKeyPair makes a fresh 2048-bit RSA key pair, the size Meta requires.
func GenerateKeyPair() (KeyPair, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generating an RSA key: %w", err)
	}
	return keyPairOf(k)
}

func keyPairOf(k *rsa.PrivateKey) (KeyPair, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return KeyPair{}, fmt.Errorf("encoding the private key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return KeyPair{}, fmt.Errorf("encoding the public key: %w", err)
	}
	return KeyPair{
		PrivatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		PublicPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
	}, nil
}

// ParsePrivateKey reads an RSA private key in PEM: PKCS#1 ("RSA PRIVATE
// KEY"), PKCS#8 ("PRIVATE KEY") or passphrase-protected PKCS#8 ("ENCRYPTED
// PRIVATE KEY", as OpenSSL 3 writes it; PBES2 with PBKDF2 and AES-CBC or
// 3DES-CBC).
func ParsePrivateKey(pemText string, passphrase string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if block == nil {
		return nil, errors.New("reading the private key: no PEM block found")
	}
	der := block.Bytes
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("reading the PKCS#1 private key: %w", err)
		}
		return k, nil
	case "ENCRYPTED PRIVATE KEY":
		if passphrase == "" {
			return nil, errors.New("reading the private key: it is encrypted and no passphrase was given")
		}
		var err error
		if der, err = decryptPKCS8(der, passphrase); err != nil {
			return nil, fmt.Errorf("reading the encrypted private key: %w", err)
		}
	case "PRIVATE KEY":
	default:
		return nil, fmt.Errorf("reading the private key: unexpected PEM block %q", block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("reading the PKCS#8 private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("reading the private key: it is %T, Meta needs RSA", k)
	}
	if rk.N.BitLen() < 2048 {
		return nil, fmt.Errorf("reading the private key: %d bits, Meta needs at least 2048", rk.N.BitLen())
	}
	return rk, nil
}

// PublicPEM returns the PKIX PEM of a private key's public half.
func PublicPEM(k *rsa.PrivateKey) (string, error) {
	kp, err := keyPairOf(k)
	return kp.PublicPEM, err
}

// SealPrivateKey encrypts a private key PEM for storage, so a copy of the
// database alone does not reveal it.
func SealPrivateKey(box *secret.Box, privatePEM string) (string, error) {
	if _, err := ParsePrivateKey(privatePEM, ""); err != nil {
		return "", err
	}
	s, err := box.Seal(privatePEM)
	if err != nil {
		return "", fmt.Errorf("sealing the private key: %w", err)
	}
	return s, nil
}

// OpenPrivateKey decrypts a key sealed by SealPrivateKey and parses it.
func OpenPrivateKey(box *secret.Box, sealed string) (*rsa.PrivateKey, error) {
	p, err := box.Open(sealed)
	if err != nil {
		return nil, fmt.Errorf("opening the flow's private key: %w", err)
	}
	return ParsePrivateKey(p, "")
}

// EncryptRequest seals a request as Meta's client does: a fresh AES-128
// key wrapped with RSA-OAEP-SHA256 for the business public key, a random
// 16-byte IV, AES-GCM over the JSON. It returns the envelope body and the
// key and IV needed to read the answer (DecryptResponse). The sandbox plays
// Meta's side with it.
func EncryptRequest(pub *rsa.PublicKey, plain []byte) (body, aesKey, iv []byte, err error) {
	aesKey = make([]byte, 16)
	iv = make([]byte, ivSize)
	if _, err := rand.Read(aesKey); err != nil {
		return nil, nil, nil, fmt.Errorf("encrypting a request: %w", err)
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, nil, nil, fmt.Errorf("encrypting a request: %w", err)
	}
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, aesKey, nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encrypting a request: wrapping the AES key: %w", err)
	}
	gcm, err := newGCM(aesKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encrypting a request: %w", err)
	}
	body, err = json.Marshal(EncryptedRequest{
		EncryptedFlowData: base64.StdEncoding.EncodeToString(gcm.Seal(nil, iv, plain, nil)),
		EncryptedAESKey:   base64.StdEncoding.EncodeToString(wrapped),
		InitialVector:     base64.StdEncoding.EncodeToString(iv),
	})
	return body, aesKey, iv, err
}

// DecryptResponse opens an endpoint's base64 answer with the request's AES
// key and IV (inverted, as the endpoint sealed it).
func DecryptResponse(b64 string, aesKey, iv []byte) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("decrypting the response: bad base64: %w", err)
	}
	if len(iv) != ivSize {
		return nil, fmt.Errorf("decrypting the response: the IV is %d bytes, want %d", len(iv), ivSize)
	}
	gcm, err := newGCM(aesKey)
	if err != nil {
		return nil, fmt.Errorf("decrypting the response: %w", err)
	}
	var flipped [ivSize]byte
	for i, b := range iv {
		flipped[i] = ^b
	}
	plain, err := gcm.Open(nil, flipped[:], data, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypting the response: %w", err)
	}
	return plain, nil
}
