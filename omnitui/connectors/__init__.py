"""Channels: one module a channel, each speaking only its own protocol."""
