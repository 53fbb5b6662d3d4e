"""Thin Typer commands: parse input, call one service, format output, map errors to exit codes."""
