"""Read-only queries: Kickoff's own tables (deliveries, mappings) and Tally's data (cached)."""
