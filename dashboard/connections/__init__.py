"""The Connections section: connect Tally and Tallyfy accounts, test, reconnect, disconnect."""
