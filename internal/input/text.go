package input

import (
	"bytes"
	"encoding/binary"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
	bomUTF32LE = []byte{0xFF, 0xFE, 0x00, 0x00}
	bomUTF32BE = []byte{0x00, 0x00, 0xFE, 0xFF}
)

// DecodeText returns data as UTF-8 without a byte-order mark. UTF-16 with
// its mark (what Windows editors and PowerShell's > write) is converted;
// UTF-32 and text with NUL bytes (UTF-16 whose mark was lost, or a binary
// file) are refused, because reading them as UTF-8 would see nothing.
func DecodeText(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, bomUTF32LE), bytes.HasPrefix(data, bomUTF32BE):
		return nil, errors.New("UTF-32 text is not supported: save it as UTF-8")
	case bytes.HasPrefix(data, bomUTF8):
		data = data[len(bomUTF8):]
	case bytes.HasPrefix(data, bomUTF16LE):
		return fromUTF16(data[2:], binary.LittleEndian)
	case bytes.HasPrefix(data, bomUTF16BE):
		return fromUTF16(data[2:], binary.BigEndian)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		if looksUTF16(data) {
			return nil, errors.New("looks like UTF-16 without a byte-order mark: save it as UTF-8 (or UTF-16 with its mark)")
		}
		return nil, errors.New("not text: it holds NUL bytes (a binary file?)")
	}
	return data, nil
}

func fromUTF16(data []byte, order binary.ByteOrder) ([]byte, error) {
	if len(data)%2 != 0 {
		return nil, errors.New("UTF-16 text with an odd number of bytes: the file is cut short")
	}
	units := make([]uint16, len(data)/2)
	for i := range units {
		units[i] = order.Uint16(data[2*i:])
	}
	out := make([]byte, 0, len(units))
	for i := 0; i < len(units); i++ {
		r := rune(units[i])
		if utf16.IsSurrogate(r) {
			if i+1 == len(units) {
				return nil, errors.New("not valid UTF-16 text (an unpaired surrogate)")
			}
			if r = utf16.DecodeRune(r, rune(units[i+1])); r == utf8.RuneError {
				return nil, errors.New("not valid UTF-16 text (an unpaired surrogate)")
			}
			i++
		}
		out = utf8.AppendRune(out, r)
	}
	if bytes.IndexByte(out, 0) >= 0 {
		return nil, errors.New("not text: it holds NUL characters")
	}
	return out, nil
}

// looksUTF16: most of the first bytes alternate with NULs, as ASCII in
// UTF-16 does.
func looksUTF16(data []byte) bool {
	n := min(len(data), 512) &^ 1
	even, odd := 0, 0
	for i := 0; i < n; i += 2 {
		if data[i] == 0 {
			even++
		}
		if data[i+1] == 0 {
			odd++
		}
	}
	half := n / 2
	return half > 0 && (even*4 >= half*3 || odd*4 >= half*3)
}
