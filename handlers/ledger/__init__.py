"""The ledger (台账) for leaders and admins: the five batches, the three rates, clusters seen before they become
cases (未诉先办), convenience measures — in chat (/ledger with a chart), as XLSX (/export) and on the dashboard."""
