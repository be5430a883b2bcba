//go:build !no_ui

// Package ui embeds the built portals SPA (ui/dist). Build it with `npm run build:ui`
// before `go build`; the no_ui build tag swaps in a placeholder so Go builds without Node.
package ui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built SPA and whether it is the real build.
func Dist() (fs.FS, bool) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub, true
}
