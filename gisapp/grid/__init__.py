"""The analysis grid: CRS choice, coordinate conversion, the population grid and town/country classes."""
