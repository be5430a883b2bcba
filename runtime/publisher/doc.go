// Package publisher is Turnpike's Publisher: it creates, imports, edits, versions and
// deletes APIs, walks them through WSO2's lifecycle, keeps their documents, and tells the
// gateways what to serve. It owns the rules (validation, visibility, who may change what)
// so that every door — GraphQL, HTTP, tests — gets the same answers; resolvers only
// convert.
//
// # Storage across two databases
//
// An API lives in two logical databases: its runtime row (name, context, version, state,
// endpoints, resources, tiers, tags; what gateways need) in apimgtdb, and its artifacts
// (the imported OpenAPI definition, the lifecycle history, documents and their files) in
// regdb. Each change runs one apimgtdb transaction; inside it, the API's row is locked first
// (SELECT ... FOR UPDATE on PostgreSQL; SQLite transactions take the write lock at BEGIN),
// then the regdb rows are written and committed in their own transaction, then the
// apimgtdb rows and the outbox event. If the apimgtdb transaction fails after regdb
// committed, the regdb writes are compensated (deleted) and the error returned, so a failed
// change leaves neither half behind. The lock order is always apimgtdb, then regdb.
//
// Deleting an API is the exception: the apimgtdb row (and its undeploy event) goes first,
// then the regdb artifacts. Artifacts of a deleted API are unreachable, so if the second
// step fails the only cost is garbage, which is logged; the reverse order would need a
// re-insert of deleted artifacts as compensation.
//
// Uploaded document files are stored in regdb (table document_files, a BYTEA/BLOB row)
// under a random storage name, never the uploader's file name: every control-plane
// replica can serve them, they commit with their metadata, and they follow the database's
// backups. The uploader's name is kept, sanitised, only for Content-Disposition.
//
// # Who may change what
//
// Everyone sees the public states; a provider sees their own APIs; publishers and admins
// see everything. A provider holding the CREATOR role, publishers and admins edit an API,
// and a mutation that changes other APIs (making a version the default) needs those rights
// on each of them. Only publishers and admins walk the lifecycle, and change what a
// deployed API calls or who may call it (endpoint URLs, resource authentication); only
// editors see the endpoint URLs. A context belongs to one API name and provider, and no
// other API may use a context nested in it or containing it (ownership.go).
//
// # Revisions, environments and events
//
// Gateways never serve the working copy. A revision (revisions.go) is an immutable copy of
// everything a gateway needs of the API, and of the rest of the working copy (description,
// tags, OpenAPI document) so that a restore can rebuild it; revisions are numbered per API
// and a number is never given again. A deployment (deployments.go) puts one revision of an
// API in a gateway environment (environments.go); each API has at most one per environment.
//
// Every change to an API's deployments — deploy, undeploy, a lifecycle change of a deployed
// API, RETIRE (which undeploys everywhere), deleting the API — appends one
// contract.KindAPIDeployments event, in the apimgtdb transaction that holds the API's row,
// with the API's whole deployment set and its current lifecycle state. Editing the working
// copy appends nothing. PUBLISH (and DEPLOY_AS_PROTOTYPE) of an API deployed nowhere
// creates a revision and deploys it to Default; Start does the same, once, for served APIs
// of databases from before revisions.
package publisher
