#!/usr/bin/env bash
# Packs AgentCore, AgentCore.Sqlite, AgentCore.PostgreSql, AgentCore.Testing and AgentCore.AgentFramework into artifacts/packages, the
# folder feed nuget.config names, as version $AgentCoreLocalVersion (0.1.0-local), so the samples restore them as
# an app restores packages. Packages of that version cached by an earlier pack are dropped first, so a restore
# never picks up stale bits.
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.1.0-local
feed=artifacts/packages
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

find "$feed" -name '*.nupkg' -delete 2>/dev/null || true
find "$feed" -name '*.snupkg' -delete 2>/dev/null || true
cache=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
for id in agentcore agentcore.sqlite agentcore.postgresql agentcore.testing agentcore.agentframework; do
  rm -rf "${cache:?}/$id/$version"
done

for project in src/AgentCore src/AgentCore.Sqlite src/AgentCore.PostgreSql src/AgentCore.Testing src/AgentCore.AgentFramework; do
  dotnet pack "$project" -c Release -nologo -v quiet -warnaserror -p:Version=$version -o "$feed"
done
ls "$feed"
