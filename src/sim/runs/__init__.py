"""Runs: replications in seeded blocks on any executor, streaming summaries, run folders, reruns."""
