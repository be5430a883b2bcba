// Package model holds the GraphQL-facing types. The types in this file are written by hand
// so that relations (a provider, an owner, an API's documents) resolve through field
// resolvers and dataloaders instead of being loaded eagerly; gqlgen generates the rest into
// models_gen.go.
package model

import "time"

// User is a Turnpike account.
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Email     *string   `json:"email,omitempty"`
	Roles     []Role    `json:"roles"`
	CreatedAt time.Time `json:"createdAt"`
	// Own marks a user returned to themself before their session exists (by login and
	// signUp), so that @restricted(self: true) fields show.
	Own bool `json:"-"`
}

// API is a managed API; provider, history, definition and other relations resolve lazily.
type API struct {
	ID                      string            `json:"id"`
	Name                    string            `json:"name"`
	Context                 string            `json:"context"`
	Version                 string            `json:"version"`
	Description             *string           `json:"description,omitempty"`
	ProviderID              string            `json:"-"`
	LifecycleState          LifecycleState    `json:"lifecycleState"`
	Endpoints               *Endpoints        `json:"endpoints"`
	Resources               []*Resource       `json:"resources"`
	SubscriptionTiers       []string          `json:"subscriptionTiers"`
	Tags                    []string          `json:"tags"`
	ThrottlingPolicy        *string           `json:"throttlingPolicy,omitempty"`
	Cors                    *CORSConfig       `json:"cors"`
	IsDefaultVersion        bool              `json:"isDefaultVersion"`
	CreatedAt               time.Time         `json:"createdAt"`
	UpdatedAt               time.Time         `json:"updatedAt"`
	Policies                []*AttachedPolicy `json:"policies"`
	ResponseCache           *ResponseCache    `json:"responseCache"`
	ValidateRequests        bool              `json:"validateRequests"`
	Type                    APIType           `json:"type"`
	GraphQLSchema           *string           `json:"graphQLSchema,omitempty"`
	RequirePersistedQueries bool              `json:"requirePersistedQueries"`
	PersistedQueries        []string          `json:"persistedQueries"`
	CountEvents             bool              `json:"countEvents"`
	// AIConfig backs the ai field (AI APIs only; never holds the provider key).
	AIConfig *AIConfig `json:"-"`
	// MCPSettings are an MCP server's settings, for the mcp field's resolver.
	MCPSettings *MCPSettings `json:"-"`
	// ProductRefs are a PRODUCT's resources (productResources resolves their APIs).
	ProductRefs []*ProductResourceInput `json:"-"`
	// PendingAction backs pendingLifecycleAction (workflows).
	PendingAction *LifecycleAction `json:"-"`
	// Restricted, ViewGroups and EditGroups back visibility, visibleToGroups and
	// editableByGroups (resolved in resolvers/governance.resolvers.go).
	Restricted bool     `json:"-"`
	ViewGroups []string `json:"-"`
	EditGroups []string `json:"-"`
}

// MCPSettings are what the API.mcp resolver needs of an MCP server.
type MCPSettings struct {
	Mode        MCPMode
	SourceAPIID string
	Tools       []*MCPTool
	HiddenTools []string
}

// Application is a consumer's application; owner, subscriptions and keys resolve lazily.
type Application struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Description      *string   `json:"description,omitempty"`
	OwnerID          string    `json:"-"`
	ThrottlingPolicy string    `json:"throttlingPolicy"`
	CreatedAt        time.Time `json:"createdAt"`
	// ApprovalStatus and ApprovalReason back status and statusReason (workflows).
	ApprovalStatus ApplicationStatus `json:"-"`
	ApprovalReason *string           `json:"-"`
}

// Subscription links an application to an API; both ends resolve lazily.
type Subscription struct {
	ID            string             `json:"id"`
	APIID         string             `json:"-"`
	ApplicationID string             `json:"-"`
	Tier          string             `json:"tier"`
	Status        SubscriptionStatus `json:"status"`
	CreatedAt     time.Time          `json:"createdAt"`
	// PendingTierName and Reason back pendingTier and statusReason (workflows).
	PendingTierName *string `json:"-"`
	Reason          *string `json:"-"`
}
