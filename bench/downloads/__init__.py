"""Files the suite fetches for its users (test sets, pretrained weights): one download rule,
SHA-256 checked, into a cache folder the user can choose."""
