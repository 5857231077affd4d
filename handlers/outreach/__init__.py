"""Reaching the public: the service guide and its search, subscriptions, legal-awareness broadcasts, their fan-out."""
