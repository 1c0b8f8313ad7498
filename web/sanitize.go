package web

import "github.com/microcosm-cc/bluemonday"

// newSanitizer returns the policy HTML bodies pass through on their way
// out. The normaliser (intake/mailparse) already stores sanitised HTML
// with this same policy; applying it again at the edge means that HTML
// stored by an older version, another channel or a bug can still not
// carry script to a CSR's browser (RELIABILITY.md H6). The policy is
// bluemonday's UGC policy plus cid: URLs for inline images; links get
// rel="nofollow noreferrer" and a new window.
func newSanitizer() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("cid")
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

// sanitize returns html made safe by the server's policy.
func (s *server) sanitize(html string) string {
	return s.policy.Sanitize(html)
}
