package whatsapp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"

	"github.com/parleyhq/parley/internal/channel"
)

// MediaInfo fetches the metadata of a media ID (GET /{media-id}), including
// the short-lived download URL.
func (c *Client) MediaInfo(ctx context.Context, id string) (channel.MediaInfo, string, error) {
	var r struct {
		URL      string  `json:"url"`
		MimeType string  `json:"mime_type"`
		SHA256   string  `json:"sha256"`
		FileSize flexStr `json:"file_size"`
		ID       flexStr `json:"id"`
	}
	u := c.endpoint(id) + "?phone_number_id=" + url.QueryEscape(c.cfg.PhoneNumberID)
	if err := c.call(ctx, http.MethodGet, u, "", nil, &r); err != nil {
		return channel.MediaInfo{}, "", errorf(err, "getting WhatsApp media %s", id)
	}
	info := channel.MediaInfo{ID: string(r.ID), MimeType: r.MimeType, SHA256: r.SHA256}
	fmt.Sscan(string(r.FileSize), &info.Size)
	if r.URL == "" {
		return info, "", errorf(&channel.SendError{Class: channel.Permanent, Title: "the media has no download URL"},
			"getting WhatsApp media %s", id)
	}
	return info, r.URL, nil
}

// FetchMedia streams a received media file: its metadata, then its bytes
// from the download URL with the same token. More than maxBytes is an
// error when read. The caller closes the reader.
func (c *Client) FetchMedia(ctx context.Context, id string, maxBytes int64) (channel.MediaInfo, io.ReadCloser, error) {
	info, u, err := c.MediaInfo(ctx, id)
	if err != nil {
		return info, nil, err
	}
	if info.Size > 0 && maxBytes > 0 && info.Size > maxBytes {
		return info, nil, fmt.Errorf("downloading WhatsApp media %s: %d bytes, over the %d-byte limit", id, info.Size, maxBytes)
	}
	resp, err := c.do(ctx, http.MethodGet, u, "", nil)
	if err != nil {
		return info, nil, errorf(err, "downloading WhatsApp media %s", id)
	}
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return info, nil, errorf(classifyResponse(resp.StatusCode, resp.Header, data), "downloading WhatsApp media %s", id)
	}
	if maxBytes <= 0 {
		return info, resp.Body, nil
	}
	return info, &limitedBody{r: resp.Body, left: maxBytes, id: id}, nil
}

// DownloadMedia reads a received media file into memory.
func (c *Client) DownloadMedia(ctx context.Context, id string, maxBytes int64) (channel.MediaInfo, []byte, error) {
	info, rc, err := c.FetchMedia(ctx, id, maxBytes)
	if err != nil {
		return info, nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return info, nil, fmt.Errorf("downloading WhatsApp media %s: %w", id, err)
	}
	return info, data, nil
}

// UploadMedia uploads a file (POST /{phone_number_id}/media) and returns its
// media ID, usable in sends for 30 days.
func (c *Client) UploadMedia(ctx context.Context, mimeType, filename string, data []byte) (string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("messaging_product", "whatsapp")
	_ = w.WriteField("type", mimeType)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filename))
	h.Set("Content-Type", mimeType)
	part, err := w.CreatePart(h)
	if err != nil {
		return "", fmt.Errorf("uploading WhatsApp media: %w", err)
	}
	if _, err := part.Write(data); err != nil {
		return "", fmt.Errorf("uploading WhatsApp media: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("uploading WhatsApp media: %w", err)
	}
	var r struct {
		ID flexStr `json:"id"`
	}
	if err := c.call(ctx, http.MethodPost, c.endpoint(c.cfg.PhoneNumberID, "media"), w.FormDataContentType(), &buf, &r); err != nil {
		return "", errorf(err, "uploading WhatsApp media %s", filename)
	}
	return string(r.ID), nil
}

// limitedBody fails once more than the allowed bytes were read, rather than
// silently truncating a file.
type limitedBody struct {
	r    io.ReadCloser
	left int64
	id   string
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, fmt.Errorf("downloading WhatsApp media %s: over the size limit", l.id)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("downloading WhatsApp media %s: over the size limit", l.id)
	}
	return n, err
}

func (l *limitedBody) Close() error { return l.r.Close() }
