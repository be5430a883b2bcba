package publisher

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/publisher/openapi"
	"github.com/turnpike/turnpike/runtime/sealbox"
)

// TypeAI is the type of AI APIs: an LLM provider behind the gateway.
const TypeAI = contract.APITypeAI

// Limits of an AI API's settings.
const (
	MaxAIBackendKeyBytes   = 4096 // a provider key (OpenAI's are ~200 bytes)
	MaxAIModels            = 50
	MaxAIModelLength       = 200 // characters
	MaxAIPromptGuards      = 50
	MaxAIPromptGuardLength = 1000 // characters of one regular expression
)

// AIConfig is an AI API's provider settings as stored (the runtime contract's type): the
// vendor, the models, the prompt guards and the provider key, sealed.
type AIConfig = contract.AIConfig

// AIInput is the input of a new AI API's settings. BackendKey is the provider's key in the
// clear; it is sealed before it is stored and never comes back.
type AIInput struct {
	Vendor      string
	BackendKey  string
	Models      []string
	PromptGuard []string
}

// AIUpdateInput changes an AI API's settings: nil fields keep their value; BackendKey
// replaces the stored key; an empty list clears models or prompt guards.
type AIUpdateInput struct {
	BackendKey  *string
	Models      []string
	PromptGuard []string
}

// aiVendorDefaults are the base URLs of the vendors' APIs, the production endpoint of an
// AI API created without one. AZURE_OPENAI has none: every resource has its own URL.
var aiVendorDefaults = map[string]string{
	contract.AIVendorOpenAI:    "https://api.openai.com/v1",
	contract.AIVendorMistral:   "https://api.mistral.ai/v1",
	contract.AIVendorAnthropic: "https://api.anthropic.com/v1",
}

// aiVendorOperations are the resources an AI API gets when none are given.
func aiVendorOperations(vendor string) []ResourceInput {
	if vendor == contract.AIVendorAnthropic {
		return []ResourceInput{{Method: openapi.MethodPost, Path: "/messages"}}
	}
	return []ResourceInput{
		{Method: openapi.MethodPost, Path: "/chat/completions"},
		{Method: openapi.MethodPost, Path: "/completions"},
		{Method: openapi.MethodPost, Path: "/embeddings"},
		{Method: openapi.MethodGet, Path: "/models"},
	}
}

func validateAIVendor(field, v string) error {
	switch v {
	case contract.AIVendorOpenAI, contract.AIVendorAzureOpenAI, contract.AIVendorAnthropic, contract.AIVendorMistral:
		return nil
	}
	return apperr.Invalidf(field, "%q is not one of OPENAI, AZURE_OPENAI, ANTHROPIC, MISTRAL", clip(v, 40))
}

// validateBackendKey checks a provider key: present, short enough, one line of printable
// characters (it travels in an HTTP header). The error never quotes the key.
func validateBackendKey(field, k string) (string, error) {
	k = strings.TrimSpace(k)
	if k == "" {
		return "", apperr.Invalidf(field, "an AI API needs its provider's key")
	}
	if len(k) > MaxAIBackendKeyBytes {
		return "", apperr.Invalidf(field, "is %d bytes long; the limit is %d", len(k), MaxAIBackendKeyBytes)
	}
	if !utf8.ValidString(k) {
		return "", apperr.Invalidf(field, "must be valid UTF-8")
	}
	if i := strings.IndexFunc(k, func(r rune) bool { return unicode.IsControl(r) || r > unicode.MaxASCII }); i >= 0 {
		return "", apperr.Invalidf(field, "must be printable ASCII (it is sent in an HTTP header); found a control or non-ASCII character at byte %d", i)
	}
	return k, nil
}

// validateModels checks model names: non-empty, no control characters, each once.
func validateModels(field string, in []string) ([]string, error) {
	if len(in) > MaxAIModels {
		return nil, apperr.Invalidf(field, "has %d models; the limit is %d", len(in), MaxAIModels)
	}
	out := make([]string, 0, len(in))
	for i, m := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		m = strings.TrimSpace(m)
		if m == "" {
			return nil, apperr.Invalidf(f, "a model name must not be empty")
		}
		if err := cleanText(f, m, MaxAIModelLength, false); err != nil {
			return nil, err
		}
		if slices.Contains(out, m) {
			return nil, apperr.Invalidf(f, "model %q is listed twice", m)
		}
		out = append(out, m)
	}
	return out, nil
}

// validatePromptGuard checks the prompt guards: each a non-empty RE2 regular expression.
func validatePromptGuard(field string, in []string) ([]string, error) {
	if len(in) > MaxAIPromptGuards {
		return nil, apperr.Invalidf(field, "has %d expressions; the limit is %d", len(in), MaxAIPromptGuards)
	}
	out := make([]string, 0, len(in))
	for i, g := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		if strings.TrimSpace(g) == "" {
			return nil, apperr.Invalidf(f, "an empty expression would match every prompt")
		}
		if utf8.RuneCountInString(g) > MaxAIPromptGuardLength {
			return nil, apperr.Invalidf(f, "is %d characters long; the limit is %d", utf8.RuneCountInString(g), MaxAIPromptGuardLength)
		}
		if _, err := regexp.Compile(g); err != nil {
			return nil, apperr.Invalidf(f, "not a regular expression (RE2 syntax): %s", err.Error())
		}
		out = append(out, g)
	}
	return out, nil
}

// buildAI checks a new API's AI settings against its type. The key stays in the clear in
// pending until the API has its id (sealAIKey).
func buildAI(api *API, in *AIInput) error {
	if api.Type != TypeAI {
		if in != nil {
			return apperr.Invalidf("input.ai", "only AI APIs have AI settings; this API is %s", api.Type)
		}
		return nil
	}
	if in == nil {
		return apperr.Invalidf("input.ai", "an AI API needs its provider settings (vendor and backendKey)")
	}
	if err := validateAIVendor("input.ai.vendor", in.Vendor); err != nil {
		return err
	}
	key, err := validateBackendKey("input.ai.backendKey", in.BackendKey)
	if err != nil {
		return err
	}
	cfg := &AIConfig{Vendor: in.Vendor}
	if cfg.Models, err = validateModels("input.ai.models", in.Models); err != nil {
		return err
	}
	if cfg.PromptGuard, err = validatePromptGuard("input.ai.promptGuard", in.PromptGuard); err != nil {
		return err
	}
	api.AI, api.pendingAIKey = cfg, key
	return nil
}

// aiEndpoints gives an AI API without endpoints its vendor's base URL.
func aiEndpoints(vendor string, in *EndpointsInput) (*EndpointsInput, error) {
	if in != nil && len(in.Production) > 0 {
		return in, nil
	}
	base, ok := aiVendorDefaults[vendor]
	if !ok {
		return nil, apperr.Invalidf("input.endpoints.production", "an %s API needs its endpoint (the Azure OpenAI resource's URL, such as https://<resource>.openai.azure.com/openai/deployments/<deployment>)", vendor)
	}
	out := EndpointsInput{}
	if in != nil {
		out = *in
	}
	out.Production = []string{base}
	return &out, nil
}

// applyAIUpdate changes an AI API's settings.
func applyAIUpdate(api *API, in *AIUpdateInput) error {
	if in == nil {
		return nil
	}
	if api.Type != TypeAI || api.AI == nil {
		return apperr.Invalidf("input.ai", "only AI APIs have AI settings; this API is %s", api.Type)
	}
	cfg := *api.AI
	var err error
	if in.Models != nil {
		if cfg.Models, err = validateModels("input.ai.models", in.Models); err != nil {
			return err
		}
	}
	if in.PromptGuard != nil {
		if cfg.PromptGuard, err = validatePromptGuard("input.ai.promptGuard", in.PromptGuard); err != nil {
			return err
		}
	}
	if in.BackendKey != nil {
		if api.pendingAIKey, err = validateBackendKey("input.ai.backendKey", *in.BackendKey); err != nil {
			return err
		}
	}
	api.AI = &cfg
	return nil
}

// errNoEncryptionKey is returned when an AI API's key must be sealed or opened but the
// Publisher was given no encryption key.
var errNoEncryptionKey = errors.New("publisher: no encryption key configured; AI API keys cannot be sealed")

// sealAIKey seals the API's pending provider key under its id, the only form it is kept in.
func (s *Service) sealAIKey(api *API) error {
	if api.pendingAIKey == "" || api.AI == nil {
		return nil
	}
	if len(s.encKey) == 0 {
		return errNoEncryptionKey
	}
	sealed, err := sealbox.Seal(s.encKey, contract.AIKeyAAD(api.ID), []byte(api.pendingAIKey))
	if err != nil {
		return fmt.Errorf("seal the provider key of api %s: %w", api.ID, err)
	}
	cfg := *api.AI
	cfg.SealedKey = sealed
	api.AI, api.pendingAIKey = &cfg, ""
	return nil
}

// reopenAIKey opens the provider key of an API being copied (a new version), so that it is
// sealed again under the copy's id.
func (s *Service) reopenAIKey(api *API) error {
	if api.AI == nil || len(api.AI.SealedKey) == 0 {
		return nil
	}
	if len(s.encKey) == 0 {
		return errNoEncryptionKey
	}
	plain, err := sealbox.Open(s.encKey, contract.AIKeyAAD(api.ID), api.AI.SealedKey)
	if err != nil {
		return fmt.Errorf("open the provider key of api %s: %w", api.ID, err)
	}
	cfg := *api.AI
	cfg.SealedKey = nil
	api.AI, api.pendingAIKey = &cfg, string(plain)
	return nil
}

// cloneAI copies AI settings so that views and edits do not share slices.
func cloneAI(c *AIConfig) *AIConfig {
	if c == nil {
		return nil
	}
	return &AIConfig{Vendor: c.Vendor, Models: nonNil(slices.Clone(c.Models)), PromptGuard: nonNil(slices.Clone(c.PromptGuard)), SealedKey: slices.Clone(c.SealedKey)}
}
