package contract

// AccessTokenClaims are the claims of a Turnpike access token (an RFC 9068 JWT with header
// typ "at+jwt", signed ES256 by the Key Manager, keys published at /oauth2/jwks). The Key
// Manager issues them; gateways verify them locally. Both sides use this one definition.
type AccessTokenClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"` // the user id; for client_credentials, the application owner's id
	Audience  []string `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf,omitempty"`
	JTI       string   `json:"jti"`
	ClientID  string   `json:"client_id,omitempty"` // absent on API keys
	Scope     string   `json:"scope,omitempty"`     // space-separated
	Username  string   `json:"username,omitempty"`
	Roles     []string `json:"roles,omitempty"` // the user's roles (turnpike-cli tokens)
	// Application is absent on tokens of the built-in turnpike-cli client.
	Application *TokenApplication `json:"application,omitempty"`
	KeyType     string            `json:"key_type,omitempty"` // PRODUCTION or SANDBOX
}

// TokenApplication identifies the application a token was issued to.
type TokenApplication struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Owner string `json:"owner"` // username
	Tier  string `json:"tier"`  // APPLICATION policy name
}

// TokenType is the JWT header typ of access tokens (RFC 9068).
const TokenType = "at+jwt"

// APIKeyType is the JWT header typ of API keys: long-lived JWTs with the claims of
// AccessTokenClaims but no client_id and no scope, sent in the gateway's API key header
// (never as a Bearer token).
const APIKeyType = "apikey+jwt"

// DefaultAudience is the aud every access token carries unless configured otherwise.
const DefaultAudience = "turnpike"
