using System.Globalization;
using System.Text;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

public sealed class ToolInvokerTests
{
    [Test]
    public void Truncate_WithinLimit_Unchanged()
    {
        ToolInvoker.Truncate("hello", 5).Should().Be("hello");
        ToolInvoker.Truncate("", 5).Should().Be("");
    }

    [Test]
    public void Truncate_AsciiOverLimit_PrefixAndMarker()
    {
        string result = ToolInvoker.Truncate("abcdefghij", 4);

        result.Should().Be("abcd\n\n[Output truncated: showing the first 4 of 10 bytes.]");
    }

    [Test]
    public void Truncate_TwoByteCharacterAcrossTheLimit_CutBeforeIt()
    {
        // "aé": 'a' is 1 byte, 'é' 2 bytes; a limit of 2 would split 'é'.
        string result = ToolInvoker.Truncate("aéb", 2);

        result.Should().StartWith("a\n\n[Output truncated: showing the first 1 of 4 bytes.]");
    }

    [Test]
    public void Truncate_SurrogatePairAcrossTheLimit_NeverSplit()
    {
        // U+1F600 is a surrogate pair in UTF-16 and 4 bytes in UTF-8.
        string text = "ab\U0001F600cd";

        for (int limit = 2; limit < 6; limit++)
        {
            string result = ToolInvoker.Truncate(text, limit);
            string kept = result[..result.IndexOf("\n\n[Output truncated", StringComparison.Ordinal)];
            kept.Should().Be("ab", $"a limit of {limit} bytes cannot hold the whole emoji");
            char.IsHighSurrogate(kept[^1]).Should().BeFalse();
        }

        ToolInvoker.Truncate(text, 6).Should().StartWith("ab\U0001F600\n\n[Output truncated: showing the first 6 of 8 bytes.]");
    }

    [Test]
    public void Truncate_KeptPart_NeverOverTheLimitAndValidUtf8()
    {
        var random = new Random(1234);
        string[] pieces = ["a", "é", "€", "\U0001F600", "中"];
        for (int round = 0; round < 200; round++)
        {
            var builder = new StringBuilder();
            for (int i = 0; i < 50; i++)
            {
                builder.Append(pieces[random.Next(pieces.Length)]);
            }

            string text = builder.ToString();
            int limit = random.Next(1, Encoding.UTF8.GetByteCount(text));
            string result = ToolInvoker.Truncate(text, limit);
            string kept = result[..result.IndexOf("\n\n[Output truncated", StringComparison.Ordinal)];

            Encoding.UTF8.GetByteCount(kept).Should().BeLessThanOrEqualTo(limit);
            text.Should().StartWith(kept);
            new UTF8Encoding(false, throwOnInvalidBytes: true).GetBytes(kept).Should().NotBeNull("no lone surrogate is kept");
        }
    }

    [Test]
    public void Truncate_AnyCulture_MarkerNumbersInvariant()
    {
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");

            string result = ToolInvoker.Truncate(new string('x', 5_000), 2_048);

            result.Should().EndWith("[Output truncated: showing the first 2,048 of 5,000 bytes.]");
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }
}
