using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Tests.Sessions;

public sealed class IdentifierTests
{
    [Test]
    public void Create_ManyInOneProcess_StrictlyIncreasing()
    {
        string previous = Identifier.Create(IdKind.Message);
        for (int i = 0; i < 100_000; i++)
        {
            string next = Identifier.Create(IdKind.Message);
            string.CompareOrdinal(next, previous).Should().BePositive();
            previous = next;
        }
    }
}
