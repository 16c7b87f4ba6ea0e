"""The services: campaign, awards, reporting, and the gateway that serves them.

A service never imports another service's domain; services meet through events and ``shared``.
"""
