"""Dataset plugins: every module here registers datasets with `bench.register_dataset`."""
