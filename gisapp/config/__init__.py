"""The workspace specification: layers, field mappings, demand groups, services and their standards."""
