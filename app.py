"""Sherlock's Streamlit entry point: page config, sign-in, and navigation over views/ (not pages/: see the README's
app section — a folder named pages/ next to this file turns on Streamlit's legacy page discovery). Each page is shown
to the roles that may use it (ui/access.py); the rest answer their address with a refusal."""

import streamlit as st

from ui import access

st.set_page_config(page_title="Sherlock", page_icon="🔎", layout="wide")
access.gate()  # the sign-in screen until someone is signed in (when sign-in is configured), then who and which role

pages = [
    st.Page("views/home.py", title="Overview", icon="🏠", default=True),
    st.Page("views/chat.py", title="Chat search", icon="💬"),
    st.Page("views/incident.py", title="Incident", icon="🧾"),
    st.Page("views/tuning.py", title="Fusion tuning", icon="🎛️"),
    st.Page("views/experiments.py", title="Experiments", icon="🧪"),
    st.Page("views/patterns.py", title="Incident patterns", icon="📈"),
    st.Page("views/monitoring.py", title="Monitoring", icon="📡"),
    st.Page("views/data.py", title="Data", icon="🗂️"),
]
st.navigation(access.navigation(pages)).run()
