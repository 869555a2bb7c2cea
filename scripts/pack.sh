#!/usr/bin/env bash
# Packs every package under src/ into artifacts/packages, the folder feed nuget.config names, so the samples restore
# them as an app restores packages. The version is 0.1.0-local.h<hash of the packed sources>, written to
# artifacts/packages/local-version.props (Directory.Build.props imports it as AgentCoreLocalVersion): changed sources
# get a new version, so a restore never picks up stale bits and NuGet's global package cache is never touched.
# When the sources have not changed since the last pack, nothing is packed again.
set -euo pipefail
cd "$(dirname "$0")/.."
feed=artifacts/packages
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

hash=$( { find src -type f -not -path '*/bin/*' -not -path '*/obj/*' -print0 | sort -z | xargs -0 sha256sum;
          sha256sum Directory.Build.props Directory.Packages.props README.md LICENSE; } | sha256sum | cut -c1-16)
version="0.1.0-local.h$hash"
stamp="$feed/local-version.props"

if [ -f "$stamp" ] && grep -q "<AgentCoreLocalVersion>$version<" "$stamp" \
   && [ "$(find "$feed" -name "*.$version.nupkg" | wc -l)" -eq "$(ls src/*/*.csproj | wc -l)" ]; then
  echo "packages $version are up to date in $feed"
  exit 0
fi

mkdir -p "$feed"
find "$feed" \( -name '*.nupkg' -o -name '*.snupkg' \) -delete
rm -f "$stamp"
for project in src/*/*.csproj; do
  dotnet pack "$project" -c Release -nologo -v quiet -warnaserror -p:Version="$version" -o "$feed"
done
cat > "$stamp" <<PROPS
<Project>
  <!-- Written by scripts/pack.sh: the version of the packages in this folder. -->
  <PropertyGroup>
    <AgentCoreLocalVersion>$version</AgentCoreLocalVersion>
  </PropertyGroup>
</Project>
PROPS
ls "$feed"
