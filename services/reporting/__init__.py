"""Reporting: yearly and 5-year summaries, roll-ups over the union tree, KPI and deadline
compliance, exports. Built in a later issue.
"""
