"""The machinery of a chat turn: messages, the turn, the interview engine, inputs, places, emergencies, outbox."""
