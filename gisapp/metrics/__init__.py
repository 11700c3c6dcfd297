"""Run a service and measure it: coverage, 2SFCA access, capacity, gaps, district and class tables, equity, consortia."""
