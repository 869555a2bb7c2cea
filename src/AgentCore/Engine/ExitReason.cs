using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>
/// Why a turn ended: carried by <see cref="TurnCompleted"/> and written, as its <see cref="Value"/>, to the usage
/// history's <c>exit_reason</c>. Modelled on Microsoft.Extensions.AI's <see cref="Microsoft.Extensions.AI.ChatFinishReason"/>:
/// a small set of well-known values, compared by value, open to values this version does not know.
/// </summary>
[JsonConverter(typeof(ExitReasonJsonConverter))]
public readonly struct ExitReason : IEquatable<ExitReason>
{
    private readonly string? _value;

    /// <summary>Creates an exit reason from its string value.</summary>
    /// <param name="value">The value, for example <c>completed</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="value"/> is null, empty or white space.</exception>
    [JsonConstructor]
    public ExitReason(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        _value = value;
    }

    /// <summary>The model answered and asked for no more tools.</summary>
    public static ExitReason Completed { get; } = new("completed");

    /// <summary>The turn was aborted (<see cref="ISessionService.Abort"/>).</summary>
    public static ExitReason Aborted { get; } = new("aborted");

    /// <summary>The turn failed; the assistant message's <see cref="SessionMessage.Error"/> says why.</summary>
    public static ExitReason Error { get; } = new("error");

    /// <summary>The turn reached <see cref="AgentCoreOptions.MaxSteps"/>.</summary>
    public static ExitReason MaxSteps { get; } = new("max_steps");

    /// <summary>The turn stopped with tool calls waiting for a person's approval.</summary>
    public static ExitReason AwaitingApproval { get; } = new("awaiting_approval");

    /// <summary>The turn stopped because a cost or token budget was spent.</summary>
    public static ExitReason BudgetExceeded { get; } = new("budget_exceeded");

    /// <summary>The turn stopped because the model repeated the same tool call.</summary>
    public static ExitReason DoomLoop { get; } = new("doom_loop");

    /// <summary>The process running the turn died; the turn was closed when the session was next loaded.</summary>
    public static ExitReason Interrupted { get; } = new("interrupted");

    /// <summary>The value, as written to the usage history: for example <c>completed</c>.</summary>
    public string Value => _value ?? Completed._value!;

    /// <inheritdoc/>
    public bool Equals(ExitReason other) => string.Equals(Value, other.Value, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc/>
    public override bool Equals([NotNullWhen(true)] object? obj) => obj is ExitReason other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.OrdinalIgnoreCase.GetHashCode(Value);

    /// <summary>Returns <see cref="Value"/>.</summary>
    /// <returns>The value.</returns>
    public override string ToString() => Value;

    /// <summary>Compares two exit reasons by value, ignoring case.</summary>
    /// <param name="left">The first.</param>
    /// <param name="right">The second.</param>
    /// <returns><see langword="true"/> when they are equal.</returns>
    public static bool operator ==(ExitReason left, ExitReason right) => left.Equals(right);

    /// <summary>Compares two exit reasons by value, ignoring case.</summary>
    /// <param name="left">The first.</param>
    /// <param name="right">The second.</param>
    /// <returns><see langword="true"/> when they differ.</returns>
    public static bool operator !=(ExitReason left, ExitReason right) => !left.Equals(right);
}
