"""DAG delivery without a DAG repository: validate, pack, publish atomically, roll back.

Pure parts only: the tree as data (``bundle``), compile checks (``checks``), version names and
manifest diffs (``versions``), the script and objects the short-lived pod runs (``agent``), and
what the commands print (``report``). Reading folders and talking to the cluster live in adapters.
"""
