"""`make bench`: each benchmark measures Pulse against baselines in the same run and reports ratios."""
