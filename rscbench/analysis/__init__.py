"""From stored records to judgements: the metric registry (units, better direction), scaling-law fits
with cluster-bootstrap CIs, threshold widths, and the theory's verdicts (docs/verdicts.md)."""
