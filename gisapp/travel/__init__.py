"""Travel cost between cells and facilities: the CostMatrix seam and its backends (straight line, friction surface, grid search)."""
