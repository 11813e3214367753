// Command ferretdb-launcher runs an embedded FerretDB (MongoDB wire protocol
// over SQLite) for local development and tests, without Docker.
//
// It also serialises write commands (see proxy.go): FerretDB 1.x applies an
// update as read-then-write in separate steps, so two concurrent updates of one
// document lose one of them, which would break every conditional update the
// platform relies on.
//
// Why a launcher instead of `go install .../cmd/ferretdb`: a binary built that
// way panics at start because its build/version/*.txt files are only generated
// by FerretDB's own build (FerretDB issue 2982). The embeddable package skips
// that check when the main module is not FerretDB itself, and also disables
// telemetry, which matters because this machine only reaches package registries.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (host:port)")
	sqliteDir := flag.String("sqlite-dir", "", "directory holding the SQLite databases (required)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn or error")
	flag.Parse()

	if err := run(*listen, *sqliteDir, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb-launcher:", err)
		os.Exit(1)
	}
}

func run(listen, sqliteDir, logLevel string) error {
	if sqliteDir == "" {
		return fmt.Errorf("-sqlite-dir is required")
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad -log-level %q: %w", logLevel, err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	dir, err := filepath.Abs(sqliteDir)
	if err != nil {
		return err
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	// FerretDB listens on a private Unix socket; clients reach it through the
	// write-serialising proxy on the TCP address.
	socket := filepath.Join(dir, "ferretdb.sock")
	if len(socket) > 100 { // Unix socket paths are limited to about 108 bytes
		socket = filepath.Join(os.TempDir(), fmt.Sprintf("ferretdb-%d.sock", os.Getpid()))
	}
	_ = os.Remove(socket)

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{Unix: socket},
		Logger:   logger,
		Handler:  "sqlite",
		// FerretDB wants a directory URI that ends with a slash.
		SQLiteURL: "file:" + filepath.ToSlash(dir) + "/",
	})
	if err != nil {
		return err
	}

	// Stop cleanly on SIGINT/SIGTERM so SQLite files are closed properly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger.Info("ferretdb-launcher starting", "listen", listen, "sqlite", dir)

	proxyErr := make(chan error, 1)
	go func() { proxyErr <- serveProxy(ctx, listen, socket, logger) }()

	runErr := make(chan error, 1)
	go func() { runErr <- f.Run(ctx) }()

	select {
	case err = <-proxyErr:
		stop()
		<-runErr
	case err = <-runErr:
		stop()
	}
	if err != nil && ctx.Err() == nil {
		return err
	}

	logger.Info("ferretdb-launcher stopped")

	return nil
}
