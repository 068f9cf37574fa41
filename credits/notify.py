"""Notifications of both parties: in-app, e-mail and signed webhooks (being built)."""
