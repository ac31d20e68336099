"""Plotly figures for the app, the notebooks and MLflow artifacts (no Streamlit here)."""
