package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/turnpike/turnpike/runtime/config"
	"github.com/turnpike/turnpike/runtime/server"
)

const usage = `Usage: turnpike [COMMAND] [--config FILE] [flags]

Commands:
  all-in-one        every runtime in one process on embedded storage (default)
  control-plane     GraphQL API, portals, Key Manager endpoints, analytics
  key-manager       OAuth2 endpoints only
  gateway           API traffic
  traffic-manager   global rate limiting
  migrate           apply database migrations and exit
  config            print the effective configuration (secrets redacted) and exit
  help              show this text

Configuration comes from defaults, the TOML file (--config or TURNPIKE_CONFIG),
TURNPIKE_* environment variables and flags, later ones winning. See README.md.
`

// run is the composition root: it reads the configuration, then hands over to the server.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd := config.ProfileAllInOne
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "migrate", "config":
		cfg, err := config.Load(config.ProfileAllInOne, args, getenv)
		if err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		if cmd == "config" {
			fmt.Fprint(stdout, cfg.Redacted())
			return nil
		}
		return server.Migrate(ctx, cfg, newLogger(cfg, stdout))
	}
	if !slices.Contains(config.Profiles, cmd) {
		return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
	}
	cfg, err := config.Load(cmd, args, getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	tuneGC(cfg.GC, getenv)
	return server.Run(ctx, cfg, server.Deps{Log: newLogger(cfg, stdout), Stdout: stdout})
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
