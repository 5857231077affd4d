"""Follow-ups: the deadline ladder that ticket events schedule or cancel, and the tick that fires due rungs once."""
