"""The Forms section: every connected account's Tally forms, their questions, submissions,
analytics and CSV export."""
