#!/usr/bin/env bash
# Installs what kt's test suite needs besides cargo: jq (the tutorial's Step 6 program
# runs verbatim), sqlite3 (the secrets test greps a `.dump`) and a Python venv with the
# official OpenAI and Anthropic SDKs and the OpenAI Agents SDK (tests/sdk.rs drives kt
# through it). Idempotent; run it before `cargo test` (the README's test command does).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi

venv=target/sdk-venv
if ! "$venv/bin/python" -c 'import openai, anthropic, agents' >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/sdk/requirements.txt
fi
