"""Letters we write: drafts, their approval, dispatch, acknowledgements, on-call alerts."""
