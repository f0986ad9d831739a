"""The Deliveries section: every delivery and attempt, retries, bulk retry, Tally's log."""
