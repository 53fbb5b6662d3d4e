"""Drift between desired manifests and live objects: pure normalisation, comparison and reports.

Layers inside: ``quantity`` (resource quantities), ``fieldsv1`` (managedFields), ``mergekeys``
(list identity), ``normalise`` (both sides into comparable form), ``ignore`` (Argo CD
``ignoreDifferences``), ``engine`` (statuses and differences), ``nodes`` (role labels),
``model`` (the report) and ``render`` (text, JSON, Markdown).
"""
