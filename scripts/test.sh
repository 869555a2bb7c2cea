#!/usr/bin/env bash
# Packs the packages, builds the samples from them, and runs every test of the solution. Installs or starts what
# the tests need, then prints one line:
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

# The browser test of the web sample (tests/AgentCore.Samples.Web.Tests) drives Debian's headless Chromium. It is
# installed here when absent (as root, with apt-get); without it that test is skipped and says so.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || echo "Installing chromium failed: the browser test will be skipped." >&2
  else
    echo "Chromium not found and it cannot be installed here (needs root and apt-get): the browser test will be skipped." >&2
  fi
fi

# The package path, as users take it: pack every package under src/ into artifacts/packages (the folder feed in nuget.config),
# then build every sample from them. tests/AgentCore.Samples.Tests checks the packages and runs the built samples.
./scripts/pack.sh >"$results/pack.log" 2>&1 \
  || { cat "$results/pack.log" >&2; echo "scripts/pack.sh failed" >&2; echo "0 passed, 1 failed"; exit 1; }
for sample in samples/*/*.csproj; do
  dotnet build "$sample" -c Release -warnaserror -nologo -v quiet \
    || { echo "building $sample from the packages failed" >&2; echo "0 passed, 1 failed"; exit 1; }
done

status=0
dotnet build AgentCore.sln -c Release -warnaserror -nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }

# A test that hangs is a failure, not a CI time-out: --blame-hang-timeout ends it after 10 minutes.
dotnet test AgentCore.sln -c Release --no-build --nologo --blame-hang-timeout 10m --blame-hang-dump-type none \
  --logger "trx" --results-directory "$results" -v quiet || status=$?

python3 "$root/scripts/trx-summary.py" "$results" || status=1
exit $status
