package httpfeed

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strings"
)

const acceptEncodings = "gzip, deflate"

// readBody reads the decoded body, refusing more than limit bytes of it.
func readBody(httpResp *http.Response, limit int64) ([]byte, error) {
	if httpResp.ContentLength > limit {
		return nil, fmt.Errorf("announced Content-Length %d exceeds %d bytes: %w", httpResp.ContentLength, limit, ErrTooLarge)
	}
	decoded, err := decodeContent(httpResp.Header.Get("Content-Encoding"), httpResp.Body)
	if err != nil {
		return nil, err
	}
	// One byte past the limit tells a body at the limit from one over it.
	body, err := io.ReadAll(io.LimitReader(decoded, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("body exceeds %d bytes: %w", limit, ErrTooLarge)
	}
	return body, nil
}

var gzipMagic = []byte{0x1f, 0x8b}

// decodeContent undoes the Content-Encoding once.
func decodeContent(encoding string, body io.Reader) (io.Reader, error) {
	encoding = strings.ToLower(strings.TrimSpace(encoding))
	if encoding == "" || encoding == "identity" {
		return body, nil
	}
	buffered := bufio.NewReader(body)
	switch encoding {
	case "gzip", "x-gzip":
		// Some servers label an already plain body gzip; reading it as is
		// beats failing the feed.
		if magic, _ := buffered.Peek(len(gzipMagic)); !bytes.Equal(magic, gzipMagic) {
			return buffered, nil
		}
		zr, err := gzip.NewReader(buffered)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		return zr, nil
	case "deflate":
		// HTTP's deflate is zlib-wrapped, but some servers send raw deflate.
		if header, _ := buffered.Peek(2); !isZlibHeader(header) {
			return flate.NewReader(buffered), nil
		}
		zr, err := zlib.NewReader(buffered)
		if err != nil {
			return nil, fmt.Errorf("deflate body: %w", err)
		}
		return zr, nil
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", encoding)
	}
}

// isZlibHeader checks the two header bytes of RFC 1950: method 8 (deflate)
// and a check value making them a multiple of 31.
func isZlibHeader(b []byte) bool {
	return len(b) == 2 && b[0]&0x0f == 8 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}
