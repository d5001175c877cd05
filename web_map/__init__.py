"""Folium pages, their templates and the small JS they need."""
