"""Hydra configuration, shipped as package data so `pkg://bench.conf` resolves when installed."""
