"""Every read and write of user files: layers, speed tables, scenarios and report outputs, written atomically."""
