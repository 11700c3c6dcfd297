"""Planning: scenarios (edits to the facilities), their comparison, and suggested sites (one module per model family)."""
