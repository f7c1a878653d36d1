"""The language server: `amplifier-ls serve`.

Each module serves one feature and has a `setup(server)` function that registers its
handlers: `inline` (inline completions), `actions` (code actions and commands), `on_save`
(background suggestions), `config` (settings), `status` (the status notification and log
forwarding). Handlers translate protocol objects and call `amplifier_ls.pipeline.Predictor`;
this package is the only one that imports pygls.
"""
