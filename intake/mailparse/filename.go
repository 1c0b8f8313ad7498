package mailparse

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// maxFilenameBytes caps a display file name; the extension is kept.
const maxFilenameBytes = 120

// rawFilename returns the file name a part declares: the Content-
// Disposition filename, else the Content-Type name (RFC 2183 §2.3, RFC
// 2231, and RFC 2047 words that many mailers use there), decoded but not
// yet made safe.
func rawFilename(p *part) string {
	name := p.disp.params["filename"]
	if strings.TrimSpace(name) == "" {
		name = p.ctype.params["name"]
	}
	if name == "" {
		return ""
	}
	if !utf8.ValidString(name) {
		// Raw 8-bit bytes: the usual truth is Windows-1252.
		if s, err := charmap.Windows1252.NewDecoder().String(name); err == nil {
			name = s
		}
	}
	return name
}

// safeFilename makes a declared file name safe to show and to offer for
// download (H5): directory parts are dropped ("../../x", "C:\x", "/etc/x"
// become "x"), control, bidi and zero-width characters are removed,
// characters Windows refuses become '_', leading dots and trailing dots
// and spaces go, and the name is cut to maxFilenameBytes with its
// extension kept. An empty result takes the fallback "attachment-N.ext"
// from the content type.
func safeFilename(name, mediaType string, n int) string {
	name = cleanLine(name)
	name = strings.ReplaceAll(name, `\`, "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	// A drive prefix without a separator ("C:x").
	if len(name) >= 2 && name[1] == ':' && isASCIILetter(name[0]) {
		name = name[2:]
	}
	name = strings.Map(func(r rune) rune {
		switch r {
		case '<', '>', ':', '"', '|', '?', '*':
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ". ")
	name = strings.TrimRight(name, ". ")
	if name == "" {
		return "attachment-" + strconv.Itoa(n) + extFor(mediaType)
	}
	if len(name) > maxFilenameBytes {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
			ext = name[i:]
		}
		stem := name[:len(name)-len(ext)]
		cut := maxFilenameBytes - len(ext)
		for cut > 0 && !utf8.RuneStart(stem[cut]) {
			cut--
		}
		name = strings.TrimRight(stem[:cut], ". ") + ext
	}
	return name
}

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// extFor returns a file extension for a media type. A fixed table keeps
// results the same on every machine (mime.ExtensionsByType reads the
// system's mime.types).
func extFor(mediaType string) string {
	switch mediaType {
	case "text/plain", "text/rfc822-headers", "message/delivery-status",
		"message/disposition-notification", "message/feedback-report",
		"message/global-delivery-status", "message/global-disposition-notification",
		"message/global-headers":
		return ".txt"
	case "text/html":
		return ".html"
	case "text/csv":
		return ".csv"
	case "text/calendar":
		return ".ics"
	case "text/vcard", "text/x-vcard", "text/directory":
		return ".vcf"
	case "text/xml", "application/xml":
		return ".xml"
	case "text/enriched", "text/richtext", "application/rtf", "text/rtf":
		return ".rtf"
	case "message/rfc822", "message/global", "message/partial":
		return ".eml"
	case "application/pdf":
		return ".pdf"
	case "application/json":
		return ".json"
	case "application/zip", "application/x-zip-compressed":
		return ".zip"
	case "application/gzip", "application/x-gzip":
		return ".gz"
	case "application/msword":
		return ".doc"
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return ".docx"
	case "application/vnd.ms-excel":
		return ".xls"
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		return ".xlsx"
	case "application/vnd.ms-powerpoint":
		return ".ppt"
	case "application/vnd.openxmlformats-officedocument.presentationml.presentation":
		return ".pptx"
	case "application/vnd.oasis.opendocument.text":
		return ".odt"
	case "application/ms-tnef", "application/vnd.ms-tnef":
		return ".dat"
	case "application/pgp-signature":
		return ".asc"
	case "application/pgp-encrypted", "application/pgp-keys":
		return ".asc"
	case "application/pkcs7-signature", "application/x-pkcs7-signature":
		return ".p7s"
	case "application/pkcs7-mime", "application/x-pkcs7-mime":
		return ".p7m"
	case "image/jpeg", "image/jpg", "image/pjpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/tiff":
		return ".tif"
	case "image/bmp":
		return ".bmp"
	case "image/webp":
		return ".webp"
	case "image/svg+xml":
		return ".svg"
	case "image/heic":
		return ".heic"
	case "audio/mpeg":
		return ".mp3"
	case "audio/wav", "audio/x-wav":
		return ".wav"
	case "video/mp4":
		return ".mp4"
	}
	return ".bin"
}
