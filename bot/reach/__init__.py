"""Ways to reach a person outside any chat (issue #14): web push and SMS, the delivery ladder's later rungs."""
