package throttlepolicy

import (
	"errors"
	"fmt"
	"strings"
)

// KeyTemplateVariables are the variables a CUSTOM policy's key template may use.
var KeyTemplateVariables = []string{"$apiContext", "$apiVersion", "$resourceKey", "$userId", "$appId", "$clientIp"}

type tmplVar uint8

const (
	varNone tmplVar = iota
	varAPIContext
	varAPIVersion
	varResourceKey
	varUserID
	varAppID
	varClientIP
)

var tmplVars = map[string]tmplVar{
	"apiContext": varAPIContext, "apiVersion": varAPIVersion, "resourceKey": varResourceKey,
	"userId": varUserID, "appId": varAppID, "clientIp": varClientIP,
}

// KeyTemplate is a parsed CUSTOM key template such as "$userId:$apiContext": calls whose
// expanded keys are equal share one counter.
type KeyTemplate struct {
	parts []tmplPart
}

type tmplPart struct {
	lit string
	v   tmplVar
}

// MaxKeyTemplateLength bounds a key template.
const MaxKeyTemplateLength = 256

// ParseKeyTemplate parses a key template: literal text and the variables of
// KeyTemplateVariables (case-sensitive; the longest name wins, so "$appIdX" is "$appId"
// followed by "X").
func ParseKeyTemplate(s string) (KeyTemplate, error) {
	var t KeyTemplate
	if s == "" {
		return t, errors.New("the key template is empty")
	}
	if len(s) > MaxKeyTemplateLength {
		return t, fmt.Errorf("the key template is longer than %d characters", MaxKeyTemplateLength)
	}
	lit := strings.Builder{}
	for i := 0; i < len(s); {
		if s[i] != '$' {
			lit.WriteByte(s[i])
			i++
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
			j++
		}
		name := s[i+1 : j]
		// Longest known variable that prefixes the identifier.
		var v tmplVar
		n := 0
		for k, kv := range tmplVars {
			if strings.HasPrefix(name, k) && len(k) > n {
				v, n = kv, len(k)
			}
		}
		if v == varNone {
			return KeyTemplate{}, fmt.Errorf("unknown variable $%s in the key template; use %s", name, strings.Join(KeyTemplateVariables, ", "))
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{lit: lit.String()})
			lit.Reset()
		}
		t.parts = append(t.parts, tmplPart{v: v})
		i += 1 + n
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, tmplPart{lit: lit.String()})
	}
	return t, nil
}

// Expand returns the template's key for a call.
func (t KeyTemplate) Expand(c *Call) string {
	var b strings.Builder
	for _, p := range t.parts {
		switch p.v {
		case varNone:
			b.WriteString(p.lit)
		case varAPIContext:
			b.WriteString(c.APIContext)
		case varAPIVersion:
			b.WriteString(c.APIVersion)
		case varResourceKey:
			b.WriteString(c.ResourceKey())
		case varUserID:
			b.WriteString(c.Username)
		case varAppID:
			b.WriteString(c.ApplicationID)
		case varClientIP:
			if c.ClientIP.IsValid() {
				b.WriteString(c.ClientIP.String())
			}
		}
	}
	return b.String()
}
