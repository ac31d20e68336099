"""Sherlock's Streamlit entry point: page config and navigation over pages/."""

import streamlit as st

st.set_page_config(page_title="Sherlock", page_icon="🔎", layout="wide")

pages = [
    st.Page("pages/home.py", title="Overview", icon="🏠", default=True),
    st.Page("pages/chat.py", title="Chat search", icon="💬"),
    st.Page("pages/tuning.py", title="Fusion tuning", icon="🎛️"),
    st.Page("pages/experiments.py", title="Experiments", icon="🧪"),
    st.Page("pages/patterns.py", title="Incident patterns", icon="📈"),
    st.Page("pages/data.py", title="Data", icon="🗂️"),
]
st.navigation(pages).run()
