"""Other authors' trained denoisers as reference rows: their weight files (catalogue), the
MatConvNet reader that turns them into PyTorch tensors, and the network that runs them."""
