"""From stored records to judgements: the metric registry (units, better direction, quantity), scaling-law
fits with cluster-bootstrap CIs, threshold widths, the two-phase fit of GD curves, the analytic
infinite-width references, and the theory's verdicts (docs/verdicts.md)."""
