"""medassist's Streamlit page: ``medassist ui`` runs it; it talks only to the serve part's API.

The operator's settings come from the environment the CLI sets (MEDASSIST_API_URL,
MEDASSIST_API_KEY, MEDASSIST_FEEDBACK_DB, MEDASSIST_UI_TIMEOUT, MEDASSIST_UI_HISTORY_*) and
only from there; the clinician's choices (language, mode, model, retrieval...) from the sidebar.
"""

from __future__ import annotations

import streamlit as st

from medassist.logs import configure_logging
from medassist.ui import guided, pages, render, sidebar
from medassist.ui.feedback import FeedbackStore, default_path
from medassist.ui.i18n import t
from medassist.ui.session import Consultation

configure_logging()  # this process is Streamlit's, not the CLI's: scrub PHI from its logs too
st.set_page_config(page_title="medassist", page_icon="🩺", layout="wide")

if "consultation" not in st.session_state:
    st.session_state["consultation"] = Consultation()
settings = sidebar.render()
if st.sidebar.button(t(settings.lang, "new_consultation"), icon=":material/add:", width="stretch"):
    st.session_state["consultation"] = Consultation()
consultation: Consultation = st.session_state["consultation"]

st.title(t(settings.lang, "title"))
st.caption(t(settings.lang, "subtitle"))
render.notice(settings.lang)
if settings.error is not None:
    render.api_error(settings.error, settings.lang, settings.client.timeout)

if settings.mode == "chat":
    pages.chat(consultation, settings, FeedbackStore(default_path()))
elif settings.mode == "guided":
    guided.page(consultation, settings)
else:
    pages.case(consultation, settings)

pages.export_panel(consultation, settings.lang)
sidebar.footer(settings)
