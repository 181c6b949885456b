"""Reply-tracking reports: read-only figures on a campaign, in table, JSON, CSV and HTML."""
