using AgentCore.Tests.Fakes;
using AgentCore.Tests.Support;

namespace AgentCore.Tests.Storage;

/// <summary>
/// The set-up the file store's fixtures share: a temporary data directory, a logger capturing the store's warnings, and
/// the paths of its files.
/// </summary>
public abstract class FileStoreTestBase
{
    /// <summary>The test's temporary directory, removed after it.</summary>
    private protected TempDirectory Temp { get; private set; } = null!;

    /// <summary>The stores' logger.</summary>
    private protected CapturingLogger<FileSessionStore> Logger { get; private set; } = null!;

    /// <summary>The stores' data directory (not created).</summary>
    protected string DataDirectory => Temp.Combine("data");

    /// <summary>The folder of the session files.</summary>
    protected string SessionsFolder => Path.Combine(DataDirectory, "sessions");

    [SetUp]
    public void SetUpTempDirectory()
    {
        Temp = new TempDirectory();
        Logger = new CapturingLogger<FileSessionStore>();
    }

    [TearDown]
    public void TearDownTempDirectory() => Temp.Dispose();

    /// <summary>A store over <see cref="DataDirectory"/>, logging to <see cref="Logger"/>.</summary>
    protected FileSessionStore Store() => new(DataDirectory, Logger);

    /// <summary>The file of a session.</summary>
    protected string SessionFile(string sessionId) => Path.Combine(SessionsFolder, sessionId + ".json");

    /// <summary>The message journal of a session.</summary>
    protected string Journal(string sessionId) => Path.Combine(DataDirectory, "messages", sessionId + ".jsonl");
}
