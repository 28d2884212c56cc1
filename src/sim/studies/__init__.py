"""Studies: many runs of one scenario at different parameter values (grid sweeps, global sensitivity)."""
