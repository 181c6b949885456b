"""Inbound mail: classify bounces, auto-replies and human replies."""
