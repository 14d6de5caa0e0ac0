"""The static results site (`rscbench publish`, docs/leaderboard.md): pages that work from disk, no network.

Modules: ``html`` (page frame and sortable tables), ``charts`` (inline SVG line charts),
``leaderboard_page``, ``report_page`` and ``history`` (the pages), ``publish`` (writes the site).
Static assets (``assets/site.js``, ``assets/style.css``) ship as package data.
"""
