#!/usr/bin/env bash
# Runs the console chat sample against the AgentCore packages, as an app uses them: packs them into
# artifacts/packages (scripts/pack.sh), then runs samples/AgentCore.Samples.Chat. Arguments go to the sample.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/pack.sh >/dev/null
exec dotnet run --project samples/AgentCore.Samples.Chat -c Release -- "$@"
