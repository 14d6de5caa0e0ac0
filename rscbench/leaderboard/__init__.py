"""The leaderboard (docs/leaderboard.md): model families scored on a frozen, versioned suite and ranked.

Modules: ``entries`` (entry TOML files), ``suite`` (the leaderboard suite and its version),
``scoring`` (an entry's scores and the ranking rule), ``tables`` (CSV, Markdown, LaTeX), ``build``
(`rscbench leaderboard add|build`) and ``example_models`` (a user's factory model, as an example).
"""
