"""Pure analyses on GeoDataFrames, arrays and graphs: no HTTP, SQL or maps here."""
