"""outreach: send a personalised appeal to diplomats, track every delivery and reply."""

__version__ = "0.1.0"
