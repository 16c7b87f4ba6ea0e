"""Campaigns (phong trào thi đua): phases, contents, indicators, registrations, initiatives, works.

Built in the campaigns issue; its rooms will be domain.py, commands.py, projections.py, schema.py.
"""
