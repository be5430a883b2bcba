//go:build no_ui

// Package ui embeds the built portals SPA (ui/dist); this no_ui variant serves a
// placeholder so that Go builds and tests without Node.
package ui

import (
	"io/fs"
	"testing/fstest"
)

const placeholder = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Turnpike</title></head>
<body><h1>Turnpike</h1><p>This binary was built without the portals (build tag no_ui).
Run <code>npm ci &amp;&amp; npm run build:ui</code> and rebuild to include them.
The GraphQL API is at <a href="/graphql">/graphql</a>.</p></body></html>
`

// Dist returns a placeholder page and false.
func Dist() (fs.FS, bool) {
	return fstest.MapFS{"index.html": &fstest.MapFile{Data: []byte(placeholder)}}, false
}
