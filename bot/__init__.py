"""bot/ talks and runs: settings, the command line, the HTTP server, channels, the outbox sender, the ticker."""
