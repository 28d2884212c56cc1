"""Scenario-forecasting simulator for offensives on capitals."""
__version__ = "0.1.0"
