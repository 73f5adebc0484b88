"""The run: lifecycle, ledger, checkpoints, output records, webhook, signals, account lists."""
