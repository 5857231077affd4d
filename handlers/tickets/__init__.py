"""The ticket domain: state machine and events, who may do what, routing, deadlines, legal-aid rules.

Imports nothing else of handlers/: everything above builds on it."""
