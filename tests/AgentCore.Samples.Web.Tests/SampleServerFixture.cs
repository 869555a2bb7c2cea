using NUnit.Framework;

namespace AgentCore.Samples.Web.Tests;

/// <summary>
/// A fixture whose tests share one running web sample: started before the first test, stopped (with its data directory)
/// after the last.
/// </summary>
/// <param name="wordDelay">How long the sample's demo model waits between words.</param>
public abstract class SampleServerFixture(TimeSpan wordDelay)
{
    private SampleServer? _server;

    private protected SampleServer Server => _server!;

    private protected HttpClient Client => Server.Client;

    [OneTimeSetUp]
    public async Task StartServerAsync() => _server = await SampleServer.StartAsync(wordDelay);

    [OneTimeTearDown]
    public async Task StopServerAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }
}
