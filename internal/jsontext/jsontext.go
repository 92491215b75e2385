// Package jsontext writes JSON by hand where encoding/json's reflection
// costs more than the value: the pieces of a trace the runner stores for
// every step of every session. What it writes is byte for byte what
// encoding/json writes (stored traces and the API depend on the bytes).
package jsontext

import "encoding/json"

// AppendString appends s as a JSON string, as encoding/json writes it
// (HTML characters escaped). Plain ASCII, as node IDs and kinds are, is
// written as it is; anything else goes through encoding/json.
func AppendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			raw, _ := json.Marshal(s) // a string always encodes
			return append(dst, raw...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
