using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using AgentCore.Samples.Tests.Support;

namespace AgentCore.Samples.Tests.Packaging;

/// <summary>
/// The packages scripts/pack.sh writes to artifacts/packages (scripts/test.sh packs before testing): each of the six
/// has its README, license, assembly with XML docs, a description, and a symbols package with the PDB.
/// </summary>
[TestFixture]
public sealed class PackageContentsTests
{
    private static readonly string[] Packages = ["AgentCore", "AgentCore.Sqlite", "AgentCore.PostgreSql", "AgentCore.Testing", "AgentCore.Testing.Conformance", "AgentCore.AgentFramework"];

    private static string Feed => Path.Combine(Repository.Root, "artifacts", "packages");

    [SetUp]
    public void RequirePackedFeed()
    {
        if (!Directory.Exists(Feed) || !Directory.EnumerateFiles(Feed, "*.nupkg").Any())
        {
            Repository.Missing("artifacts/packages holds no packages. Run ./scripts/test.sh (or ./scripts/pack.sh): it packs them (CI always does).");
        }
    }

    [TestCaseSource(nameof(Packages))]
    public void Package_AsPacked_HasReadmeLicenseXmlDocsAndDescription(string id)
    {
        string version = Repository.LocalPackageVersion();
        string path = Path.Combine(Feed, $"{id}.{version}.nupkg");
        File.Exists(path).Should().BeTrue($"scripts/pack.sh packs {id} {version} into artifacts/packages");

        using var package = ZipFile.OpenRead(path);
        var entries = package.Entries.Select(e => e.FullName).ToList();
        entries.Should().Contain(["README.md", "LICENSE", $"lib/net10.0/{id}.dll", $"lib/net10.0/{id}.xml"]);
        ReadEntry(package, "README.md").Should().StartWith("# AgentCore");
        ReadEntry(package, "LICENSE").Should().Contain("MIT License");
        XDocument.Parse(ReadEntry(package, $"lib/net10.0/{id}.xml")).Descendants("member").Should().NotBeEmpty("the XML docs document the public API");

        var nuspec = XDocument.Parse(ReadEntry(package, $"{id}.nuspec"));
        var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string? Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
        Field("id").Should().Be(id);
        Field("version").Should().Be(version);
        Field("readme").Should().Be("README.md");
        Field("license").Should().Be("MIT");
        Field("description").Should().NotBeNullOrWhiteSpace();
        if (id != "AgentCore")
        {
            metadata.Descendants().Where(e => e.Name.LocalName == "dependency")
                .Should().Contain(d => (string?)d.Attribute("id") == "AgentCore" && (string?)d.Attribute("version") == $"[{version}]",
                    $"{id} depends on exactly the AgentCore package of the same version (built against it, it runs only with it)");
        }
    }

    [TestCaseSource(nameof(Packages))]
    public void Assembly_AsPacked_GrantsNoInternalsToAnotherPackage(string id)
    {
        using var package = ZipFile.OpenRead(Path.Combine(Feed, $"{id}.{Repository.LocalPackageVersion()}.nupkg"));
        using var assembly = new MemoryStream();
        using (var entry = package.GetEntry($"lib/net10.0/{id}.dll")!.Open())
        {
            entry.CopyTo(assembly);
        }

        assembly.Position = 0;
        using var pe = new PEReader(assembly);
        var metadata = pe.GetMetadataReader();
        var granted = new List<string>();
        foreach (var handle in metadata.GetAssemblyDefinition().GetCustomAttributes())
        {
            var attribute = metadata.GetCustomAttribute(handle);
            if (attribute.Constructor.Kind == HandleKind.MemberReference
                && metadata.GetMemberReference((MemberReferenceHandle)attribute.Constructor).Parent is { Kind: HandleKind.TypeReference } parent
                && metadata.GetString(metadata.GetTypeReference((TypeReferenceHandle)parent).Name) == "InternalsVisibleToAttribute")
            {
                var blob = metadata.GetBlobReader(attribute.Value);
                blob.ReadUInt16(); // prolog
                granted.Add(blob.ReadSerializedString()!);
            }
        }

        granted.Should().NotIntersectWith(Packages, $"{id} shares no internals with another package: they use its public API or linked source");
    }

    [TestCaseSource(nameof(Packages))]
    public void SymbolsPackage_AsPacked_HoldsThePdb(string id)
    {
        string path = Path.Combine(Feed, $"{id}.{Repository.LocalPackageVersion()}.snupkg");
        File.Exists(path).Should().BeTrue($"scripts/pack.sh writes the symbols package of {id} beside it");

        using var symbols = ZipFile.OpenRead(path);
        symbols.Entries.Select(e => e.FullName).Should().Contain($"lib/net10.0/{id}.pdb");
    }

    private static string ReadEntry(ZipArchive package, string name)
    {
        var entry = package.GetEntry(name);
        entry.Should().NotBeNull($"the package holds {name}");
        using var reader = new StreamReader(entry!.Open());
        return reader.ReadToEnd();
    }
}
