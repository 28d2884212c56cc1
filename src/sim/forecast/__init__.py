"""Forecast honesty: observed timelines, proper scores, backtests and calibration on a reference class."""
