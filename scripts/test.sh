#!/usr/bin/env bash
# Runs every test of the solution. Installs or starts what the tests need, then prints one line:
# "N passed, N failed[, N skipped]". Exits non-zero when a test fails or the build breaks.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# The real MCP servers the integration tests start (pinned in tests/mcp-servers/package-lock.json).
# Without Node.js those tests skip and say so.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  npm ci --prefix tests/mcp-servers --no-audit --no-fund --loglevel=error >/dev/null \
    || { echo "npm ci --prefix tests/mcp-servers failed" >&2; echo "0 passed, 1 failed"; exit 1; }
else
  echo "Node.js not found: the tests against real MCP servers will be skipped." >&2
fi

status=0
dotnet build AgentCore.sln -c Release -warnaserror -nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }

# --- Web sample and its browser test (tests/AgentCore.Samples.Web.Tests) -----------------------------------------------
# The sample consumes the packed AgentCore package and is not in AgentCore.sln: pack, then build it for the tests that
# start it. The browser test drives Debian's headless Chromium; it is installed here when absent (as root, with
# apt-get); without it the browser test is skipped and says so.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || echo "Installing chromium failed: the browser test will be skipped." >&2
  else
    echo "Chromium not found and it cannot be installed here (needs root and apt-get): the browser test will be skipped." >&2
  fi
fi
./scripts/pack.sh >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
dotnet build samples/AgentCore.Samples.Web -c Release -warnaserror -nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }
# --- end of the web sample block ----------------------------------------------------------------------------------------

dotnet test AgentCore.sln -c Release --no-build --nologo \
  --logger "trx" --results-directory "$results" -v quiet || status=$?

python3 "$root/scripts/trx-summary.py" "$results" || status=1
exit $status
