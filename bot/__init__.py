"""Channels and the `mobility` command line: web widget, Telegram, email drafting."""
