"""The HTML report of a run, a sweep or any results folders (`python -m bench.report`):
`page` writes it, `gallery` re-runs methods for its images, `statistics` compares each method with
a reference, `tags` says which methods are classical or left out of figures; `references` adds the
columns that only reference rows (the authors' own weights) carry."""
