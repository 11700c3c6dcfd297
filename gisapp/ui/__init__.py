"""The Streamlit face of gisapp: sidebar frame, cached loaders and one module per page.

Only this package and ``streamlit_app.py`` import streamlit; everything shown is computed by
the engine (:mod:`gisapp.metrics`, :mod:`gisapp.maps`).
"""
