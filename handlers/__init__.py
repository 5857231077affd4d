"""handlers/ decides: channel-neutral messages, interviews, ticket rules and who may do what."""
