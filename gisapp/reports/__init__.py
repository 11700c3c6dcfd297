"""Coverage reports: the report data, then one writer per format (HTML, XLSX, GeoPackage, PDF) and its charts."""
