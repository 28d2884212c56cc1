"""Reporting: figures, tables, comparisons and reports, drawn from result files alone."""
