// Package resolvers implements the GraphQL schema as thin adapters: convert the input, call
// one component method, convert the result. No SQL and no publishing happen here.
package resolvers

import (
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/analytics"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/devportal"
	"github.com/turnpike/turnpike/runtime/groups"
	"github.com/turnpike/turnpike/runtime/keymanager"
	"github.com/turnpike/turnpike/runtime/policies"
	"github.com/turnpike/turnpike/runtime/publisher"
	"github.com/turnpike/turnpike/runtime/workflow"
	"time"
)

// Resolver holds the components the resolvers call. The server builds it.
type Resolver struct {
	// Accounts: users, roles, sessions.
	Accounts *accounts.Service
	// GatewayURLs are where consumers call APIs.
	GatewayURLs []string

	// Developer Portal and Key Manager: applications, subscriptions, ratings and
	// comments; OAuth2 keys, scope bindings and signing keys.
	DevPortal  *devportal.Service
	KeyManager *keymanager.Service

	// Publisher: APIs, their lifecycle, definitions and documents
	// (apis.graphqls, documents.graphqls).
	Publisher *publisher.Service

	// Throttling policies and blocking conditions (policies.graphqls): admins manage
	// them; every change reaches the gateways through the outbox.
	Policies *policies.Service

	// Analytics and runtime synchronisation (analytics.graphqls, admin.graphqls):
	// usage series and live usage per API and application; the newest control revision and
	// the runtimes that report to this control plane.
	Analytics    *analytics.Service
	ControlPlane *controlplane.Service

	// LoaderWait is how long a dataloader gathers keys before one batched read (zero: 1 ms).
	// Tests that count reads raise it, so a loaded machine cannot split a batch.
	LoaderWait time.Duration

	// Approval workflows (governance.graphqls): settings, tasks, decisions, the webhook.
	Workflows *workflow.Service

	// Groups of users (governance.graphqls): admins manage them; they restrict who sees
	// and who edits an API.
	Groups *groups.Service
}
