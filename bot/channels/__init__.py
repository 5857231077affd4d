"""Channels translate a platform's updates into Incoming and render Reply back; they hold no business rule."""
