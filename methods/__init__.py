"""Denoiser plugins: every module here registers methods with `bench.register_method`."""
