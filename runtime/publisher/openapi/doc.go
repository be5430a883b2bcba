// Package openapi is the Publisher's OpenAPI support: it imports OpenAPI 3.0,
// 3.1 and Swagger 2.0 definitions into the resources of an API, exports an
// API's resources as an OpenAPI 3 document, and validates what a publisher
// types in (contexts, versions, endpoint URLs, resources).
//
// Definitions are untrusted input. Import refuses, as a *ValidationError,
// documents larger than MaxDefinitionSize, nested deeper than MaxDepth, YAML
// that expands more than MaxYAMLAliases aliases, $refs to anything but the
// document itself (nothing is ever fetched), $ref chains that loop, more
// than MaxRefTargets distinct $ref targets, and versions other than 2.0,
// 3.0.x and 3.1.x. Its work is linear in the size of the definition (a few
// seconds of CPU for the largest); it is fuzzed (FuzzImport) for panics,
// hangs and round trips through Export.
//
// The package is pure: no database, no network, no package-level state.
package openapi
