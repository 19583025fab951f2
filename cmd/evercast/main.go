// Command evercast runs the Evercast digital-human livestream platform: see
// `evercast help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/evercast/evercast/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}
