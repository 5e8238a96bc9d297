"""The smallest Streamlit app that signs in with st.login against the test OIDC provider
(tests/test_oidc_provider.py): it proves the harness, not the comparator app."""

import streamlit as st

if not st.user.is_logged_in:
    st.text("Not signed in")
    if st.button("Log in"):
        st.login()
else:
    st.text(f"email: {st.user.get('email')}")
    st.text(f"name: {st.user.get('name')}")
    st.text(f"groups: {','.join(st.user.get('groups') or []) or '-'}")
    st.text(f"claims: {','.join(sorted(st.user.to_dict()))}")
    if st.button("Log out"):
        st.logout()
