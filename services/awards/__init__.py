"""Awards (khen thưởng): people, the award catalogue and its rules, proposals through appraisal,
council and decision, revocation, exemplars and conferences. Built in a later issue.
"""
