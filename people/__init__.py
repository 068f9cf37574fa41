"""People: invitations, the organisation a person is acting for, notification choices.

Builds on ``contracts`` (organisations and memberships); ``credits`` builds on it (it
reads the choices when it publishes an event, and writes the daily digests' items).
"""
