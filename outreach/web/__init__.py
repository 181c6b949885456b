"""The web dashboard: campaigns, letters, replies, recipients and reports in a browser.

A thin layer over the same domain functions as the command line; `create_app` in `app`.
"""
