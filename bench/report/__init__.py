"""Additions to the leaderboard report that only some rows carry."""
